"""The HTTP face of the cluster: discovery, REST verbs, subresources, watch, Table output, auth."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml
from aiohttp import web
from cryptography import x509

from kubesim import (
    crd,
    disruption,
    errors,
    metrics_api,
    openapi,
    protobuf,
    rbac,
    resources,
    serviceaccounts,
    tables,
    tls,
)
from kubesim.logs import LogStore, since_from_seconds
from kubesim.registry import Registry
from kubesim.resources import Resource
from kubesim.selectors import SelectorError, parse_field_selector, parse_label_selector
from kubesim.usage import UsageSource
from kubesim.watch import stream_watch

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T17:59:15Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}
JSON = "application/json"
ProxyHandler = Callable[[web.Request, Resource, str, str, str], Awaitable[web.StreamResponse]]
PortForwardHandler = Callable[[web.Request, Resource, str, str], Awaitable[web.StreamResponse]]
USER = "kubesim.user"  # the request's authenticated user (rbac.User), None for the health endpoints
REVIEWS = ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews")
RemoteCommandHandler = Callable[[web.Request, Resource, str, str, str], Awaitable[web.StreamResponse]]


@dataclass
class Target:
    """What a resource path names."""

    res: Resource
    ns: str
    name: str
    sub: str
    rest: str  # the path after `proxy/`, for proxy subresources
    watch: bool


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type=JSON)


def _error(exc: errors.APIError) -> web.Response:
    return _json(exc.status(), exc.code)


def _wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=Table" in first or ("as=Table" in accept and "json" not in first.replace("as=Table", ""))


def _bool(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "")


class API:
    def __init__(self, registry: Registry, logs: LogStore, token: str) -> None:
        self.registry = registry
        self.logs = logs
        self.token = token
        self.client_ca: x509.Certificate | None = None  # the CA client certificates must be signed by
        self.proxy: ProxyHandler | None = None
        self.portforward: PortForwardHandler | None = None
        self.remotecommand: RemoteCommandHandler | None = None
        self.metrics: Callable[[], str] | None = None
        # The cluster's measured container usage, read per request (None until the runtime measures anything).
        self.usage: Callable[[], UsageSource | None] = lambda: None
        self.started = datetime.now(UTC)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        user: rbac.User | None = None
        if request.path not in ("/healthz", "/livez", "/readyz"):
            auth = request.headers.get("Authorization", "")
            user = self._certificate_user(request)  # the x509 authenticator comes first, as in kube-apiserver
            if user is None and auth.startswith("Bearer "):
                user = self._authenticate(auth[7:].strip())
            if user is None:
                return _error(errors.unauthorized())
            # As the apiserver's authentication filter does: the credential is not passed on (the service
            # proxy must never hand the cluster's token to a pod).
            headers = request.headers.copy()
            headers.popall("Authorization", None)
            as_user = headers.pop("Impersonate-User", "")
            as_groups = headers.getall("Impersonate-Group", [])
            headers.popall("Impersonate-Group", None)
            request = request.clone(headers=headers)
            if as_user:
                target, needs = rbac.impersonated(as_user, as_groups)
                for need in needs:  # `kubectl --as`: the requester must be allowed to impersonate
                    if not rbac.authorize(self.registry.store, user, need)[0]:
                        return _error(rbac.forbidden(user, need))
                user = target
        request[USER] = user
        try:
            try:
                return await handler(request)
            except serviceaccounts.DefaultAccountPending as exc:
                # the namespace controller makes `default` just after its namespace: as the ServiceAccount
                # admission plugin does, the pod waits a moment for it before it is refused
                if not await serviceaccounts.default_appears(self.registry.store, exc.namespace):
                    raise
                return await handler(request)
        except errors.APIError as exc:
            return _error(exc)
        except SelectorError as exc:
            return _error(errors.bad_request(str(exc)))

    def _certificate_user(self, request: web.Request) -> rbac.User | None:
        """The user of the client certificate the TLS handshake received, if the cluster CA signed it."""
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        if self.client_ca is None or ssl_object is None:
            return None
        subject = tls.client_user(ssl_object.getpeercert(binary_form=True), self.client_ca)
        return rbac.User(subject[0], (*subject[1:], "system:authenticated")) if subject else None

    def _authenticate(self, token: str) -> rbac.User | None:
        if hmac.compare_digest(token, self.token):
            return rbac.ADMIN
        return rbac.token_user(self.token, token, self.registry.store) or rbac.secret_token_user(
            self.token, token, self.registry.store
        )

    def _authorize(self, request: web.Request, req: rbac.Request) -> None:
        user = request.get(USER)
        if user is None:  # the health endpoints, which need no credential
            return
        allowed, _ = rbac.authorize(self.registry.store, user, req)
        if not allowed:
            raise rbac.forbidden(user, req)

    # ---- routing -----------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        # (group, version, rest) of a resource path; anything else is a non-resource path for RBAC
        route = (
            ("", "v1", parts[2:])
            if parts[:2] == ["api", "v1"]
            else (parts[1], parts[2], parts[3:])
            if len(parts) >= 3 and parts[0] == "apis"
            else None
        )
        if route is None:
            self._authorize(
                request, rbac.Request(verb=rbac.verb(request.method, named=True, watch=False), path=request.path)
            )
        if request.method == "GET":
            if parts == ["openapi", "v2"]:
                return _openapi_v2(request.headers.get("Accept", ""))
            static = self._static(parts)
            if static is not None:
                return static
        if route is not None:
            return await self._resource(request, *route)
        raise errors.path_not_found()

    def _static(self, parts: list[str]) -> web.StreamResponse | None:
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return web.Response(text="ok")
        if parts == ["version"]:
            return _json(SERVER_VERSION)
        if parts == ["metrics"] and self.metrics is not None:
            return web.Response(text=self.metrics(), content_type="text/plain")
        gv = resources.group_versions()
        if parts[:2] == ["openapi", "v3"]:
            if len(parts) == 2:
                return _json(openapi.root_document())
            group, version = (
                ("", parts[3])
                if parts[2] == "api" and len(parts) == 4
                else ((parts[3], parts[4]) if parts[2] == "apis" and len(parts) == 5 else ("?", "?"))
            )
            if version in gv.get(group, []):
                return _json(openapi.group_document(group, version))
            return None
        if parts == ["api"]:
            return _json(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
                }
            )
        if parts == ["api", "v1"]:
            return _json(resources.api_resource_list("", "v1"))
        if parts == ["apis"]:
            return _json(
                {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(g, v) for g, v in gv.items() if g]}
            )
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in gv:
            return _json({"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1], gv[parts[1]])})
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in gv.get(parts[1], []):
            return _json(resources.api_resource_list(parts[1], parts[2]))
        return None

    @staticmethod
    def _group(group: str, versions: list[str]) -> dict[str, Any]:
        vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": vs, "preferredVersion": vs[0]}

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        watch = bool(rest) and rest[0] == "watch"
        if watch:
            rest = rest[1:]
        if not rest:
            raise errors.path_not_found()
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        res = resources.find(group, version, rest[0])
        if res is None or (ns and not res.namespaced):
            raise errors.path_not_found()
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in res.subresources:
            raise errors.path_not_found()
        if len(rest) > 3 and sub != "proxy":
            raise errors.path_not_found()
        return Target(res, ns, name, sub, "/".join(rest[3:]), watch)

    async def _resource(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        t = self._target(group, version, rest)
        watching = t.watch or (
            request.method == "GET" and not t.name and "watch" in request.query and _bool(request.query.get("watch"))
        )
        action = rbac.verb(request.method, named=bool(t.name), watch=watching)
        if t.sub in ("exec", "attach", "portforward"):
            action = "create"  # its WebSocket GET is authorized as create, as the apiserver does since 1.35
        self._authorize(request, rbac.Request(action, t.res.group, t.res.plural, t.sub, t.ns, t.name))
        if t.res.plural in REVIEWS and request.method == "POST":
            return await self._review(request, t)
        if t.sub == "token" and request.method == "POST":
            return await self._token_request(request, t)
        if t.res.virtual:  # computed on request (metrics.k8s.io), never stored
            status, body = metrics_api.serve(
                t.res,
                method=request.method,
                query=request.query,
                namespace=t.ns,
                name=t.name,
                watch=t.watch,
                store=self.registry.store,
                usage=self.usage(),
                wants_table=_wants_table(request),
            )
            return _json(body, status)
        q = request.query
        method = request.method
        if t.sub == "proxy":
            if self.proxy is None:
                raise errors.service_unavailable("proxying is not available on this cluster")
            return await self.proxy(request, t.res, t.ns, t.name, t.rest)
        if t.sub == "log":
            return await self._log(request, t)
        if t.sub == "portforward":
            if self.portforward is None:
                raise errors.service_unavailable("port forwarding is not available on this cluster")
            return await self.portforward(request, t.res, t.ns, t.name)
        if t.sub in ("exec", "attach"):
            if self.remotecommand is None:
                raise errors.service_unavailable(f"{t.sub} is not available on this cluster")
            return await self.remotecommand(request, t.res, t.ns, t.name, t.sub)
        dry_run = "All" in q.getall("dryRun", [])
        manager = q.get("fieldManager") or _manager_from_agent(request.headers.get("User-Agent", ""))
        if t.sub == "eviction" and t.name and method == "POST":
            body, code = disruption.evict(self.registry, t.ns, t.name, await self._body(request), dry_run=dry_run)
            return _json(body, code)
        if not t.name:
            if method == "GET":
                if watching:
                    return await self._watch(request, t)
                return self._list(request, t)
            if method == "POST":
                if t.res.custom is not None and t.res.custom.terminating:
                    raise errors.method_not_allowed(
                        "create not allowed while custom resource definition is terminating"
                    )
                if t.res.plural == "namespaces" or t.ns or not t.res.namespaced:
                    body = await self._body(request)
                    obj = self.registry.create(t.res, t.ns, body, dry_run=dry_run, manager=manager)
                    return _json(obj, 201)
                raise errors.method_not_allowed()
            if method == "DELETE":
                return self._delete_collection(request, t, await self._body(request, optional=True), dry_run)
            raise errors.method_not_allowed()
        if method == "GET":
            obj = self.registry.get(t.res, t.ns, t.name)
            if t.sub == "scale":
                return _json(self.registry.scale_of(t.res, obj))
            if _wants_table(request) and not t.sub:
                return _json(
                    tables.to_table(
                        t.res.plural,
                        t.res.group,
                        [obj],
                        now=datetime.now(UTC),
                        include_object=q.get("includeObject", "Metadata"),
                        list_meta={"resourceVersion": obj["metadata"]["resourceVersion"]},
                        printer=crd.printer_for(t.res),
                    )
                )
            return _json(obj)
        if method == "PUT":
            body = await self._body(request)
            if t.sub == "scale":
                old = self.registry.store.get(t.res.key, t.ns, t.name)
                if old is None:
                    raise errors.not_found(t.res, t.name)
                return _json(self.registry.set_scale(t.res, old, body, dry_run=dry_run, manager=manager))
            return _json(self.registry.update(t.res, t.ns, t.name, body, sub=t.sub, dry_run=dry_run, manager=manager))
        if method == "PATCH":
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
            body = await self._body(request)
            created = ctype.startswith("application/apply-patch") and self.registry.peek(t.res, t.ns, t.name) is None
            obj = self.registry.patch(
                t.res,
                t.ns,
                t.name,
                ctype,
                body,
                sub=t.sub,
                dry_run=dry_run,
                manager=q.get("fieldManager", manager),
                force=_bool(q.get("force")) and "force" in q,
            )
            return _json(obj, 201 if created else 200)
        if method == "DELETE":
            opts = await self._body(request, optional=True) or {}
            for key in ("propagationPolicy", "gracePeriodSeconds"):
                if key in q:
                    opts[key] = int(q[key]) if key == "gracePeriodSeconds" else q[key]
            obj = self.registry.delete(t.res, t.ns, t.name, opts, dry_run=dry_run)
            if obj["metadata"].get("deletionTimestamp") and self.registry.peek(t.res, t.ns, t.name) is not None:
                return _json(obj)
            return _json(
                obj
                if t.res.kind in ("Pod", "Namespace", "Service")
                else {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": t.name,
                        "group": t.res.group,
                        "kind": t.res.plural,
                        "uid": obj["metadata"].get("uid"),
                    },
                }
            )
        raise errors.method_not_allowed()

    async def _body(self, request: web.Request, optional: bool = False) -> Any:
        raw = await request.read()
        if not raw.strip():
            if optional:
                return None
            raise errors.bad_request("the request body is empty; send a JSON or YAML object")
        ctype = request.headers.get("Content-Type", "")
        if protobuf.is_protobuf(ctype):
            try:
                return protobuf.decode(raw)
            except protobuf.ProtobufError as exc:
                raise errors.bad_request(str(exc)) from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            if "yaml" not in ctype:
                raise errors.bad_request(f"the request body is not valid JSON: {exc}") from exc
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"the request body is not valid YAML: {exc}") from exc

    # ---- list / delete collection ------------------------------------------------------------
    def _selected(self, request: web.Request, t: Target) -> list[dict[str, Any]]:
        q = request.query
        labels = parse_label_selector(q.get("labelSelector")) if q.get("labelSelector") else None
        fields = parse_field_selector(q.get("fieldSelector"), t.res.field_selectors) if q.get("fieldSelector") else None
        return self.registry.select(t.res, t.ns or None, labels, fields)

    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        items = self._selected(request, t)
        rv = str(self.registry.store.rv)
        meta: dict[str, Any] = {"resourceVersion": rv}
        cont = q.get("continue")
        if cont:
            try:
                token = json.loads(base64.urlsafe_b64decode(cont.encode()))
                start = (token["ns"], token["name"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
                ) from exc
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
        limit = int(q.get("limit") or 0)
        if limit > 0 and len(items) > limit:
            last = items[limit - 1]["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"ns": last.get("namespace", ""), "name": last["name"], "rv": rv}).encode()
            ).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if _wants_table(request):
            objs = [self.registry._present(t.res, json.loads(json.dumps(o))) for o in items]
            return _json(
                tables.to_table(
                    t.res.plural,
                    t.res.group,
                    objs,
                    now=datetime.now(UTC),
                    include_object=q.get("includeObject", "Metadata"),
                    list_meta=meta,
                    printer=crd.printer_for(t.res),
                )
            )
        if t.res.storage:  # served from another version's storage (events.k8s.io, autoscaling/v1): converted
            body_items = [json.dumps(self.registry._present(t.res, json.loads(json.dumps(o)))) for o in items]
        else:
            body_items = [json.dumps(o, separators=(",", ":")) for o in items]
        head = json.dumps({"kind": f"{t.res.kind}List", "apiVersion": t.res.api_version, "metadata": meta})
        text = head[:-1] + ',"items":[' + ",".join(body_items) + "]}"
        return web.Response(text=text, content_type=JSON)

    def _delete_collection(self, request: web.Request, t: Target, opts: Any, dry_run: bool) -> web.Response:
        items = self._selected(request, t)
        deleted = []
        for o in items:
            meta = o["metadata"]
            try:
                deleted.append(
                    self.registry.delete(t.res, meta.get("namespace", ""), meta["name"], opts or {}, dry_run=dry_run)
                )
            except errors.APIError as exc:
                if exc.code != 404:
                    raise
        return _json(
            {
                "kind": f"{t.res.kind}List",
                "apiVersion": t.res.api_version,
                "metadata": {"resourceVersion": str(self.registry.store.rv)},
                "items": deleted,
            }
        )

    # ---- watch -------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        return await stream_watch(self, request, t)

    # ---- logs --------------------------------------------------------------------------------
    async def _review(self, request: web.Request, t: Target) -> web.StreamResponse:
        """SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`) and
        SelfSubjectReview (`kubectl auth whoami`)."""
        body = await self._body(request)
        user = request.get(USER) or rbac.ADMIN
        spec = body.get("spec") or {}
        if t.res.plural == "selfsubjectreviews":  # `kubectl auth whoami`
            review = {"kind": t.res.kind, "apiVersion": t.res.api_version, "metadata": {"creationTimestamp": None}}
            return _json({**review, "status": {"userInfo": rbac.user_info(user)}}, 201)
        if t.res.plural == "selfsubjectaccessreviews":
            status = rbac.access_review(self.registry.store, user, spec)
        else:
            status = rbac.rules_review(self.registry.store, user, spec.get("namespace", ""))
        review = {"kind": t.res.kind, "apiVersion": t.res.api_version, "metadata": {"creationTimestamp": None}}
        return _json({**review, "spec": spec, "status": status}, 201)

    async def _token_request(self, request: web.Request, t: Target) -> web.StreamResponse:
        """TokenRequest (`kubectl create token <serviceaccount>`): a token for the account, signed by the cluster."""
        account = self.registry.store.peek("serviceaccounts", t.ns, t.name)
        if account is None:
            raise errors.not_found(t.res, t.name)
        body = await self._body(request, optional=True) or {}
        spec = dict(body.get("spec") or {})
        seconds = rbac.expiration(spec)
        token, expires = rbac.issue_token(self.token, account, seconds)
        spec.update({"audiences": spec.get("audiences") or [rbac.AUDIENCE], "expirationSeconds": seconds})
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        answer = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": t.name, "namespace": t.ns, "creationTimestamp": None},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": stamp},
        }
        return _json(answer, 201)

    async def _log(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        pod = self.registry.get(t.res, t.ns, t.name)
        containers = [c["name"] for c in pod["spec"].get("containers") or []]
        init = [c["name"] for c in pod["spec"].get("initContainers") or []]
        container = q.get("container")
        if not container:
            if len(containers) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {t.name}, choose one of: "
                    f"[{' '.join(containers)}]"
                    + (f" or one of the init containers: [{' '.join(init)}]" if init else "")
                )
            container = containers[0]
        if container not in containers + init:
            raise errors.bad_request(f"container {container} is not valid for pod {t.name}")
        pod_status = pod.get("status") or {}
        statuses = {
            s["name"]: s
            for s in [*(pod_status.get("initContainerStatuses") or []), *(pod_status.get("containerStatuses") or [])]
        }
        status = statuses.get(container, {})
        restarts = int(status.get("restartCount", 0))
        if _bool(q.get("previous")) and "previous" in q:
            if restarts == 0:
                raise errors.bad_request(f'previous terminated container "{container}" in pod "{t.name}" not found')
            restarts -= 1
        elif not status.get("state", {}).get("running") and not status.get("state", {}).get("terminated"):
            reason = (status.get("state", {}).get("waiting") or {}).get("reason", "ContainerCreating")
            if not self.logs.path(t.ns, t.name, pod["metadata"]["uid"], container, restarts).exists():
                raise errors.bad_request(f'container "{container}" in pod "{t.name}" is waiting to start: {reason}')
        path = self.logs.path(t.ns, t.name, pod["metadata"]["uid"], container, restarts)
        timestamps = _bool(q.get("timestamps")) and "timestamps" in q
        tail = int(q["tailLines"]) if q.get("tailLines") else None
        since = since_from_seconds(int(q["sinceSeconds"])) if q.get("sinceSeconds") else None
        if q.get("sinceTime"):
            since = datetime.fromisoformat(q["sinceTime"].replace("Z", "+00:00"))
        limit = int(q["limitBytes"]) if q.get("limitBytes") else None
        if not (_bool(q.get("follow")) and "follow" in q):
            return web.Response(
                text=self.logs.read(path, timestamps=timestamps, tail=tail, since=since, limit_bytes=limit),
                content_type="text/plain",
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        uid = pod["metadata"]["uid"]

        def alive() -> bool:
            current = self.registry.peek(t.res, t.ns, t.name)
            return current is not None and current["metadata"]["uid"] == uid

        try:
            async for chunk in self.logs.follow(path, timestamps=timestamps, tail=tail, since=since, alive=alive):
                if chunk:
                    await resp.write(chunk.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp


def _manager_from_agent(agent: str) -> str:
    """Field manager name the apiserver derives from the User-Agent when none is given."""
    name = agent.split("/", maxsplit=1)[0].strip() or "unknown"
    return name[:128]


def _openapi_v2(accept: str) -> web.Response:
    """/openapi/v2 in the gnostic protobuf kubectl asks for (or JSON): see openapi.v2_document."""
    if "protobuf" in accept:
        return web.Response(body=openapi.v2_protobuf(), content_type=openapi.V2_PROTOBUF)
    return _json(openapi.v2_document())
