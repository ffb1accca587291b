"""The lab's browse mix against the front-end (shared/CATALOG.md, the hybrid and latency jobs: GET /catalogue (5),
/catalogue/{id} over the four ids (3), /basket.html (2), /login (1), 1-3 s waits), and a buyer who also checks out.

Run `locust -f bench/locustfile_lab.py Browser` for the lab's mix (the capacity figure of bench_shop.py);
`Buyer` adds a login, an item in the cart and POST /orders, for order traffic (tests/e2e/test_shop_live.py ships
this file in a ConfigMap, as a Job on KIND would mount it)."""

import random

from locust import HttpUser, between, task

ITEMS = [
    "03fef6ac-1896-4ce8-bd69-b798f85c6e0b",
    "510a0d7e-8e83-4193-b483-e27e09ddc34d",
    "808a2de1-1aaa-4c25-a9b9-6612e8f29a38",
    "d3588630-ad8e-49df-bbd7-3167f7efb246",
]


class Browser(HttpUser):
    wait_time = between(1, 3)

    @task(5)
    def browse(self) -> None:
        self.client.get("/catalogue")

    @task(3)
    def item(self) -> None:
        self.client.get("/catalogue/" + random.choice(ITEMS), name="/catalogue/{id}")

    @task(2)
    def basket(self) -> None:
        self.client.get("/basket.html")

    @task(1)
    def login(self) -> None:
        self.client.get("/login", auth=("user", "password"))


class Buyer(Browser):
    @task(1)
    def checkout(self) -> None:
        self.client.get("/login", auth=("user", "password"))
        self.client.post("/cart", json={"id": random.choice(ITEMS)})
        self.client.post("/orders")
