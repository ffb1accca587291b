# Apache-2.0 (see pyproject.toml)
"""Call a Kubernetes Service through the API server's service proxy.

``/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>`` reaches a Service the
same way on KIND, a remote cluster and the embedded local cluster, with no port-forward.
The request goes out on the authenticated ``kubernetes`` ApiClient that kubernetes.core's
``get_api_client`` builds, so kubeconfig, context, token, client certificates, proxy and
impersonation options behave exactly as in ``k8s_scale``.

What comes back is always ``ProxyResponse(status, headers, body, elapsed_s)``, whatever the
status. Transport failures are raised as:

- ``ProxyTimeout``: the API server took the request but no answer came within the timeout
  (the Service, or the pod behind it, is slow);
- ``ClusterUnreachable``: the API server itself could not be reached (connection refused,
  unknown host, connect timeout, TLS failure), i.e. the cluster is down or the kubeconfig
  points elsewhere;
- ``ProxyAccessDenied``: the API server refused the credentials (401) or RBAC forbids
  ``services/proxy`` (403);
- ``ServiceProxyError`` for anything else on the wire.

A Service without ready endpoints is not an exception: a real API server (and the embedded
cluster) answers HTTP 503 with a ``Status`` whose message is
``no endpoints available for service "<name>"``; see ``is_no_endpoints``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote

from ansible.module_utils.sockshop_module import ModuleError

try:
    from urllib3 import exceptions as urllib3_exceptions
except ImportError:  # pragma: no cover - kubernetes (checked by AnsibleK8SModule) depends on urllib3
    urllib3_exceptions = None  # type: ignore[assignment]

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # pragma: no cover - checked by AnsibleK8SModule
    ApiException = Exception  # type: ignore[assignment,misc]

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
NO_ENDPOINTS_TEXT = "no endpoints available for service"


class ProxyResponse(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float


class ServiceProxyError(ModuleError):
    """A request through the service proxy got no HTTP answer."""

    kind = "error"

    def __init__(self, message: str, elapsed_s: float = 0.0) -> None:
        super().__init__(message)
        self.elapsed_s = elapsed_s


class ProxyTimeout(ServiceProxyError):
    kind = "timeout"


class ClusterUnreachable(ServiceProxyError):
    kind = "cluster_unreachable"


class ProxyAccessDenied(ServiceProxyError):
    kind = "access_denied"


# A transport for one namespace: (service, method, path, json_body, timeout_s) -> ProxyResponse.
Caller = Callable[[str, str, str, Any, float], ProxyResponse]


def proxy_path(namespace: str, service: str, port: int | str, path: str) -> str:
    """``/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>`` (query string kept)."""
    for label, value in (("namespace", namespace), ("service", service)):
        if not value or "/" in value:
            raise ValueError(f"{label} {value!r} is not a valid name")
    path, sep, query = path.partition("?")
    target = quote(path.lstrip("/"), safe="/:@-._~!$&'()*+,;=")
    return f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{target}{sep}{query}"


def api_client_of(client: Any) -> Any:
    """The ``kubernetes.client.ApiClient`` behind what ``get_api_client`` returned.

    kubernetes.core's ``K8SClient.client`` is a ``DynamicClient`` whose ``.client`` is the
    authenticated ApiClient; an ApiClient (or a test double with ``call_api``) is taken as is.
    """
    seen = 0
    while not hasattr(client, "call_api"):
        client = getattr(client, "client", None)
        seen += 1
        if client is None or seen > 3:
            raise TypeError("no kubernetes ApiClient found (expected get_api_client()'s result)")
    return client


def _host_of(api_client: Any) -> str:
    return str(getattr(getattr(api_client, "configuration", None), "host", "") or "the API server")


def _unreachable_message(host: str, reason: Any) -> str:
    return (
        f"cannot reach the Kubernetes API server at {host}: {reason}. The cluster is unreachable: "
        "check that it is running and that kubeconfig/context (or host) point at it."
    )


def _pool_host(exc: BaseException) -> str | None:
    pool = getattr(exc, "pool", None)
    if pool is None or not getattr(pool, "host", None):
        return None
    return f"{getattr(pool, 'scheme', 'https')}://{pool.host}:{pool.port}"


def transport_error(exc: BaseException, host: str, timeout: float, elapsed: float) -> ServiceProxyError:
    """Map a urllib3 failure to the error a user can act on."""
    host = _pool_host(exc) or host
    reason: Any = exc
    if urllib3_exceptions is not None and isinstance(exc, urllib3_exceptions.MaxRetryError) and exc.reason:
        reason = exc.reason
    if urllib3_exceptions is not None:
        if isinstance(reason, urllib3_exceptions.ReadTimeoutError):
            return ProxyTimeout(f"no answer through the service proxy within {timeout:g}s", elapsed)
        if isinstance(reason, urllib3_exceptions.NameResolutionError):
            return ClusterUnreachable(_unreachable_message(host, "the host name does not resolve"), elapsed)
        if isinstance(reason, urllib3_exceptions.NewConnectionError):
            text = str(reason)
            why = "connection refused" if "refused" in text.lower() else text
            return ClusterUnreachable(_unreachable_message(host, why), elapsed)
        if isinstance(reason, urllib3_exceptions.ConnectTimeoutError):
            return ClusterUnreachable(_unreachable_message(host, f"connect timed out after {timeout:g}s"), elapsed)
        if isinstance(reason, urllib3_exceptions.SSLError):
            return ClusterUnreachable(_unreachable_message(host, f"TLS failed ({reason}); check ca_cert"), elapsed)
    if isinstance(reason, ConnectionRefusedError):
        return ClusterUnreachable(_unreachable_message(host, "connection refused"), elapsed)
    if isinstance(reason, TimeoutError):
        return ProxyTimeout(f"no answer through the service proxy within {timeout:g}s", elapsed)
    return ServiceProxyError(f"request to the API server at {host} failed: {reason}", elapsed)


def _send(api_client: Any, method: str, resource_path: str, body: Any, timeout: float) -> tuple[int, dict, bytes]:
    headers = dict(JSON_HEADERS)
    if hasattr(api_client, "param_serialize"):
        # kubernetes >= 35: param_serialize applies default headers and the bearer token
        # (refreshing exec/OIDC tokens), call_api returns whatever status came back.
        request = api_client.param_serialize(
            method, resource_path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        response = api_client.call_api(*request, _request_timeout=timeout)
        data = response.read()
        return int(response.status), dict(response.headers or {}), bytes(data or b"")
    # Older generated clients: call_api(path, method, ...) raises ApiException on non-2xx.
    try:
        response = api_client.call_api(
            resource_path,
            method,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=timeout,
        )
    except ApiException as exc:
        status = getattr(exc, "status", 0) or 0
        if not status:
            raise
        raw = getattr(exc, "body", b"") or b""
        return int(status), dict(getattr(exc, "headers", None) or {}), raw if isinstance(raw, bytes) else raw.encode()
    return int(response.status), dict(response.headers or {}), bytes(response.data or b"")


def status_message(body: bytes) -> str | None:
    """The ``message`` of a Kubernetes ``Status`` body, or None when the body is something else."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return str(doc.get("message", ""))
    return None


def is_no_endpoints(response: ProxyResponse) -> bool:
    """True for the API server's answer to a Service with no ready endpoints (HTTP 503 Status)."""
    if response.status != 503:
        return False
    message = status_message(response.body)
    return message is not None and NO_ENDPOINTS_TEXT in message


def call_service(
    client: Any,
    namespace: str,
    service: str,
    port: int | str,
    path: str,
    *,
    method: str = "GET",
    body: Any = None,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> ProxyResponse:
    """Send one request to a Service through the API server's service proxy.

    ``body`` is a JSON-serialisable value (Decimals must already be floats, see
    ``sockshop_money.jsonable``). Returns the answer whatever its status; raises
    ``ServiceProxyError`` subclasses for transport failures (see the module docstring).
    """
    api_client = api_client_of(client)
    resource_path = proxy_path(namespace, service, port, path)
    host = _host_of(api_client)
    start = clock()
    try:
        status, headers, data = _send(api_client, method.upper(), resource_path, body, timeout)
    except ApiException as exc:  # kubernetes reports TLS failures as ApiException(status=0)
        raise ClusterUnreachable(_unreachable_message(host, f"{exc.reason}; check ca_cert"), clock() - start) from exc
    except Exception as exc:
        if not is_wire_error(exc):
            raise
        raise transport_error(exc, host, timeout, clock() - start) from exc
    elapsed = clock() - start
    if status in (401, 403):
        message = status_message(data)
        if message is not None:
            what = "refused the credentials" if status == 401 else "forbids this request"
            raise ProxyAccessDenied(
                f"the API server at {host} {what} (HTTP {status}: {message}); "
                f"the identity needs 'create' and 'get' on services/proxy in namespace {namespace}",
                elapsed,
            )
    return ProxyResponse(status, headers, data, elapsed)


def is_wire_error(exc: BaseException) -> bool:
    """True for failures on the network path (socket, TLS, urllib3), not programming errors."""
    if isinstance(exc, OSError):
        return True
    return urllib3_exceptions is not None and isinstance(exc, urllib3_exceptions.HTTPError)


def connect(factory: Callable[[], Any], host: str = "the API server") -> Any:
    """Run ``factory`` (e.g. ``lambda: get_api_client(module=module)``) and return the client.

    ``get_api_client`` already talks to the API server (``GET /version`` and discovery), so a
    down cluster shows up here: it is raised as ``ClusterUnreachable`` with advice, not as a
    urllib3 traceback.
    """
    try:
        return factory()
    except Exception as exc:
        if is_wire_error(exc):
            raise transport_error(exc, host, 0.0, 0.0) from exc
        raise


def make_caller(client: Any, namespace: str, port: int | str, clock: Callable[[], float] = time.monotonic) -> Caller:
    """Bind ``call_service`` to one client, namespace and port: ``caller(service, method, path, body, timeout)``."""

    def caller(service: str, method: str, path: str, body: Any = None, timeout: float = 10.0) -> ProxyResponse:
        return call_service(
            client, namespace, service, port, path, method=method, body=body, timeout=timeout, clock=clock
        )

    return caller
