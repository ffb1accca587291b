"""The shop's pages: small static HTML whose scripts call the same API the real UI calls (public/js/client.js).

Like the real pages they are static (no downstream call, no session) and load their data in the browser:
the catalogue from `/catalogue` and `/tags`, a sock from `/catalogue/{id}`, the basket from `/cart`, orders
from `/orders`. Two behaviours of the real UI are kept on purpose, as operators met them in the incidents:
- checkout reports only a 201 ("Order placed.") and a 406 ("Error placing order. <message>"); a 500 from
  a failed payment shows nothing (INCIDENT-3/5C: the UI did not surface payment failures);
- "My orders" labels every order "Shipped", whatever its status (INCIDENT-3: PAYMENT_FAILED orders looked
  shipped).
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font-family:sans-serif;margin:0;color:#222}header{background:#4a4a4a;padding:.6em 1em}
header a{color:#fff;margin-right:1em;text-decoration:none}header form{display:inline;float:right}
main{padding:1em}.socks{display:flex;flex-wrap:wrap;gap:1em}.sock{border:1px solid #ccc;padding:.6em;width:14em}
.sock img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}
#user-message{margin:.6em 0;font-weight:bold}.label-success{background:#5cb85c;color:#fff;padding:0 .4em}
"""

# The API helpers every page uses (the real UI's client.js, without jQuery).
_SCRIPT = """
const ENTITIES={"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"};
function esc(s){return String(s).replace(/[&<>"']/g,c=>ENTITIES[c]);}
function money(n){return "$" + Number(n).toFixed(2);}
function loggedIn(){return document.cookie.split("; ").some(c=>c.indexOf("logged_in=")===0 && c.length>10);}
function say(html){document.getElementById("user-message").innerHTML=html;}
async function api(method,url,body){
  const opts={method:method,credentials:"same-origin",headers:{}};
  if(body!==undefined){opts.headers["Content-Type"]="application/json; charset=utf-8";opts.body=JSON.stringify(body);}
  const r=await fetch(url,opts);const text=await r.text();let data=null;
  try{data=text?JSON.parse(text):null;}catch(e){data=text;}
  return {status:r.status,data:data};
}
async function login(ev){
  ev.preventDefault();const f=ev.target;
  const r=await fetch("/login",{credentials:"same-origin",
    headers:{Authorization:"Basic "+btoa(f.username.value+":"+f.password.value)}});
  if(r.status===200){say("Login successful.");setTimeout(()=>location.reload(),300);}
  else{say("Invalid login credentials.");}
}
function logout(){document.cookie="logged_in=; Max-Age=0; path=/";location.reload();}
async function addToCart(id){
  const r=await api("POST","/cart",{id:id});
  if(r.status===201){say("Added to cart.");cartCount();}else{console.error("Could not add item: "+id);}
}
async function cartCount(){
  const r=await api("GET","/cart");
  if(Array.isArray(r.data)){
    const n=r.data.reduce((s,i)=>s+(i.quantity||0),0);
    document.getElementById("numItemsInCart").textContent=n+" item(s) in cart";
  }
}
function sockCard(s){
  const img=(s.imageUrl||[])[0];
  return '<div class="sock">'+(img?'<img alt="" src="'+esc(img)+'">':'')+
    '<h3><a href="detail.html?id='+encodeURIComponent(s.id)+'">'+esc(s.name)+'</a></h3>'+
    '<p class="price">'+money(s.price)+'</p>'+
    '<button onclick="addToCart(\\''+esc(s.id)+'\\')">Add to cart</button></div>';
}
document.addEventListener("DOMContentLoaded",()=>{
  const f=document.getElementById("login-form");
  if(loggedIn()){f.outerHTML='<a href="#" onclick="logout()">Logout</a>';}else{f.addEventListener("submit",login);}
  cartCount();
});
"""

_NAV = """<header>
<a href="index.html">Home</a><a href="category.html">Catalogue</a>
<a href="basket.html" id="numItemsInCart">Basket</a><a href="customer-orders.html">My orders</a>
<form id="login-form"><input name="username" placeholder="username" size="10">
<input name="password" type="password" placeholder="password" size="10"><button>Log in</button></form>
</header>"""


def _page(title: str, body: str, script: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>WeaveSocks - {escape(title)}</title>\n<style>{_STYLE}</style>\n"
        f"<script>{_SCRIPT}</script>\n</head>\n<body>\n{_NAV}\n<main>\n"
        f'<h1>{escape(title)}</h1>\n<div id="user-message"></div>\n{body}\n</main>\n'
        f"<script>\n{script}\n</script>\n</body>\n</html>\n"
    ).encode()


INDEX = _page(
    "WeaveSocks",
    '<p>Socks for every occasion.</p>\n<h2>Hot this week</h2>\n<div class="socks" id="hot"></div>',
    """api("GET","/catalogue?size=3").then(r=>{
  if(Array.isArray(r.data)){document.getElementById("hot").innerHTML=r.data.map(sockCard).join("");}
});""",
)

CATEGORY = _page(
    "Catalogue",
    '<div id="filters"></div>\n<div class="socks" id="products"></div>\n'
    '<p><button id="prev">Previous</button> page <span id="page">1</span> <button id="next">Next</button></p>',
    """const q=new URLSearchParams(location.search);let page=Number(q.get("page")||1);const size=6;
let tags=q.get("tags")||"";
function load(){
  let url="/catalogue?page="+page+"&size="+size;if(tags){url+="&tags="+encodeURIComponent(tags);}
  document.getElementById("page").textContent=page;
  api("GET",url).then(r=>{
    const el=document.getElementById("products");
    el.innerHTML=Array.isArray(r.data)?r.data.map(sockCard).join(""):"<p>The catalogue is unavailable.</p>";
  });
}
api("GET","/tags").then(r=>{
  const names=(r.data&&r.data.tags)||[];
  document.getElementById("filters").innerHTML=names.map(t=>
    '<label><input type="checkbox" value="'+esc(t)+'"> '+esc(t)+'</label>').join(" ");
  document.querySelectorAll("#filters input").forEach(box=>box.addEventListener("change",()=>{
    tags=Array.from(document.querySelectorAll("#filters input:checked")).map(b=>b.value).join(",");page=1;load();
  }));
});
document.getElementById("prev").onclick=()=>{if(page>1){page--;load();}};
document.getElementById("next").onclick=()=>{page++;load();};
load();""",
)

DETAIL = _page(
    "Sock",
    '<div id="sock"><p>Loading...</p></div>',
    """const id=new URLSearchParams(location.search).get("id");
api("GET","/catalogue/"+encodeURIComponent(id||"")).then(r=>{
  const s=r.data;const el=document.getElementById("sock");
  if(!s||!s.id){el.innerHTML="<p>Sock not found.</p>";return;}
  document.title="WeaveSocks - "+s.name;
  el.innerHTML=(s.imageUrl||[]).map(u=>'<img alt="" width="200" src="'+esc(u)+'">').join("")+
    '<h2 id="title">'+esc(s.name)+'</h2><p id="description">'+esc(s.description||"")+'</p>'+
    '<p class="price" id="price">'+money(s.price)+'</p><p>Tags: '+esc((s.tag||[]).join(", "))+'</p>'+
    '<button id="buttonCart" onclick="addToCart(\\''+esc(s.id)+'\\')">Add to cart</button>';
});""",
)

BASKET = _page(
    "Shopping cart",
    '<table id="basket"><thead><tr><th>Item</th><th>Quantity</th><th>Unit price</th><th>Total</th><th></th></tr>'
    '</thead><tbody id="cartList"></tbody></table>\n'
    '<p>Subtotal <span id="cartSubtotal">$0.00</span>, shipping <span id="cartShipping">$4.99</span>, '
    'total <strong id="cartTotal">$4.99</strong></p>\n<p id="address"></p><p id="card"></p>\n'
    '<p><button id="orderButton" onclick="order()">Proceed to checkout</button></p>',
    """const SHIPPING=4.99;
async function loadCart(){
  const r=await api("GET","/cart");const items=Array.isArray(r.data)?r.data:[];
  let subtotal=0;
  document.getElementById("cartList").innerHTML=items.map(i=>{
    const line=i.quantity*i.unitPrice;subtotal+=line;
    return '<tr><td><a href="detail.html?id='+encodeURIComponent(i.itemId)+'">'+esc(i.itemId)+'</a></td>'+
      '<td><input type="number" min="1" value="'+esc(i.quantity)+'" onchange="updateItem(\\''+esc(i.itemId)+
      '\\',this.value)"></td><td>'+money(i.unitPrice)+'</td><td>'+money(line)+'</td>'+
      '<td><button onclick="removeItem(\\''+esc(i.itemId)+'\\')">Remove</button></td></tr>';
  }).join("");
  document.getElementById("cartSubtotal").textContent=money(subtotal);
  document.getElementById("cartTotal").textContent=money(subtotal+SHIPPING);
}
async function updateItem(id,quantity){await api("POST","/cart/update",{id:id,quantity:quantity});loadCart();}
async function removeItem(id){await api("DELETE","/cart/"+encodeURIComponent(id));loadCart();}
async function order(){
  if(!loggedIn()){say("You must be logged in to place an order.");return false;}
  const r=await api("POST","/orders");
  if(r.status===201){say("Order placed.");await api("DELETE","/cart");loadCart();return true;}
  console.log("error: "+JSON.stringify(r.data));
  // As the real client.js: only a 406 is shown; any other failure leaves the page as it was.
  if(r.status===406){say("Error placing order. "+esc((r.data&&r.data.message)||""));}
  return false;
}
if(loggedIn()){
  api("GET","/address").then(r=>{const a=r.data;if(a&&a.street){document.getElementById("address").textContent=
    "Ship to: "+[a.number,a.street,a.city,a.postcode,a.country].join(", ");}});
  api("GET","/card").then(r=>{if(r.data&&r.data.number){document.getElementById("card").textContent=
    "Card ending "+r.data.number;}});
}
loadCart();""",
)

ORDERS = _page(
    "My orders",
    "<table><thead><tr><th>Order</th><th>Date</th><th>Total</th><th>Status</th></tr></thead>"
    '<tbody id="tableOrders"></tbody></table>',
    """api("GET","/orders").then(r=>{
  if(!Array.isArray(r.data)){say("Log in to see your orders.");return;}
  document.getElementById("tableOrders").innerHTML=r.data.map(o=>{
    const self=((o._links||{}).self||{}).href||("/orders/"+o.id);const id=self.split("/").pop();
    // As the real page: every order is labelled Shipped, whatever its status.
    return '<tr><th># '+esc(id)+'</th><td>'+esc(String(o.date||"").split(".")[0].replace("T"," "))+'</td>'+
      '<td>'+money(o.total)+'</td><td><span class="label label-success">Shipped</span></td></tr>';
  }).join("");
});""",
)

PAGES: dict[str, bytes] = {
    "/": INDEX,
    "/index.html": INDEX,
    "/category.html": CATEGORY,
    "/detail.html": DETAIL,
    "/basket.html": BASKET,
    "/customer-orders.html": ORDERS,
}


def cannot(method: str, path: str) -> bytes:
    """Express's 404 page."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n'
        f"<body>\n<pre>Cannot {escape(method)} {escape(path)}</pre>\n</body>\n</html>\n"
    ).encode()
