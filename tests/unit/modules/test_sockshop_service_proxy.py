"""sockshop_service_proxy: paths, the real kubernetes ApiClient on the wire, and failure mapping."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ansible.module_utils.sockshop_service_proxy import (
    ClusterUnreachable,
    ProxyAccessDenied,
    ProxyResponse,
    ProxyTimeout,
    ServiceProxyError,
    api_client_of,
    call_service,
    connect,
    is_no_endpoints,
    make_caller,
    proxy_path,
    status_message,
)
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from tests.unit.modules.sockshop_fake_apiserver import FakeApiServer, serve, status_body


@pytest.mark.parametrize(
    ("ns", "svc", "port", "path", "expected"),
    [
        (
            "sock-shop",
            "payment",
            80,
            "/paymentAuth",
            "/api/v1/namespaces/sock-shop/services/payment:80/proxy/paymentAuth",
        ),
        (
            "sock-shop",
            "orders",
            "http",
            "orders?page=1&size=50",
            "/api/v1/namespaces/sock-shop/services/orders:http/proxy/orders?page=1&size=50",
        ),
        (
            "ns",
            "carts",
            80,
            "/carts/57a98d98e4b00679b4a830af/items",
            "/api/v1/namespaces/ns/services/carts:80/proxy/carts/57a98d98e4b00679b4a830af/items",
        ),
        ("ns", "user", 80, "/", "/api/v1/namespaces/ns/services/user:80/proxy/"),
        ("ns", "user", 80, "/a b", "/api/v1/namespaces/ns/services/user:80/proxy/a%20b"),
    ],
)
def test_proxy_path(ns: str, svc: str, port: Any, path: str, expected: str) -> None:
    assert proxy_path(ns, svc, port, path) == expected


@pytest.mark.parametrize(("ns", "svc"), [("", "payment"), ("sock-shop", ""), ("a/b", "payment"), ("ns", "x/y")])
def test_proxy_path_rejects_bad_names(ns: str, svc: str) -> None:
    with pytest.raises(ValueError):
        proxy_path(ns, svc, 80, "/")


def test_status_message_and_no_endpoints() -> None:
    body = json.dumps(status_body(503, "ServiceUnavailable", 'no endpoints available for service "payment"')).encode()
    assert status_message(body) == 'no endpoints available for service "payment"'
    assert is_no_endpoints(ProxyResponse(503, {}, body, 0.1))
    assert not is_no_endpoints(ProxyResponse(500, {}, body, 0.1))
    assert not is_no_endpoints(ProxyResponse(503, {}, b'{"message": "no endpoints available for service"}', 0.1))
    assert status_message(b"not json") is None


def test_api_client_of_unwraps_kubernetes_core_client() -> None:
    api = ApiClient(Configuration(host="http://127.0.0.1:1"))

    class Dynamic:
        client = api

    class K8S:
        client = Dynamic()

    assert api_client_of(K8S()) is api
    assert api_client_of(api) is api
    with pytest.raises(TypeError):
        api_client_of(object())


# ------------------------------------------------------------ the real ApiClient on a socket


@pytest.fixture
def echo_server() -> Iterator[FakeApiServer]:
    def app(ns: str, svc: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.startswith("/slow"):
            time.sleep(1.0)
        if svc == "gone":
            return 503, status_body(503, "ServiceUnavailable", f'no endpoints available for service "{svc}"')
        return 201, {"ns": ns, "svc": svc, "method": method, "path": path, "body": body}

    yield from serve(app)


def client_for(server: FakeApiServer, token: str | None = None) -> ApiClient:
    config = Configuration(host=server.url)
    config.api_key = {"authorization": f"Bearer {token or server.token}"}
    return ApiClient(config)


def test_call_service_round_trip(echo_server: FakeApiServer) -> None:
    api = client_for(echo_server)
    response = call_service(api, "sock-shop", "orders", 80, "/orders?page=2", method="post", body={"a": 1.5})
    assert response.status == 201
    assert json.loads(response.body) == {
        "ns": "sock-shop",
        "svc": "orders",
        "method": "POST",
        "path": "/orders?page=2",
        "body": {"a": 1.5},
    }
    assert response.elapsed_s > 0
    assert response.headers["Content-Type"] == "application/json"
    sent = echo_server.proxied()[-1]
    assert sent.headers["authorization"] == f"Bearer {echo_server.token}"
    assert sent.headers["content-type"] == "application/json"


def test_call_service_returns_non_2xx_answers(echo_server: FakeApiServer) -> None:
    response = make_caller(client_for(echo_server), "sock-shop", 80)("gone", "GET", "/health", None, 5)
    assert response.status == 503
    assert is_no_endpoints(response)


def test_call_service_read_timeout(echo_server: FakeApiServer) -> None:
    with pytest.raises(ProxyTimeout) as err:
        call_service(client_for(echo_server), "sock-shop", "payment", 80, "/slow", method="POST", body={}, timeout=0.2)
    assert "0.2s" in str(err.value)
    assert err.value.elapsed_s >= 0.15  # it waited for the timeout (an upper bound would be a latency test)


def test_call_service_wrong_token(echo_server: FakeApiServer) -> None:
    with pytest.raises(ProxyAccessDenied) as err:
        call_service(client_for(echo_server, token="wrong"), "sock-shop", "payment", 80, "/x")
    assert "HTTP 401" in str(err.value)
    assert "services/proxy" in str(err.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_call_service_api_server_down() -> None:
    config = Configuration(host=f"http://127.0.0.1:{closed_port()}")
    config.retries = 0
    with pytest.raises(ClusterUnreachable) as err:
        call_service(ApiClient(config), "sock-shop", "payment", 80, "/paymentAuth", method="POST", body={})
    text = str(err.value)
    assert "connection refused" in text
    assert "cluster is unreachable" in text
    assert config.host in text


def test_connect_maps_wire_errors_and_keeps_others() -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]

    def down() -> Any:
        raise MaxRetryError(None, "/version", refused)  # type: ignore[arg-type]

    with pytest.raises(ClusterUnreachable, match="connection refused"):
        connect(down)

    def bug() -> Any:
        raise KeyError("programming error")

    with pytest.raises(KeyError):
        connect(bug)
    assert connect(lambda: "client") == "client"


# ------------------------------------------------------------ fake ApiClients: mapping and legacy path


class RaisingClient:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.configuration = Configuration(host="https://10.0.0.1:6443")

    def param_serialize(self, method: str, path: str, **_kw: Any) -> tuple[Any, ...]:
        return (method, self.configuration.host + path, {}, None, None)

    def call_api(self, *_a: Any, **_kw: Any) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "error", "text"),
    [
        (MaxRetryError(None, "/", ReadTimeoutError(None, "/", "read timed out")), ProxyTimeout, "within 3s"),  # type: ignore[arg-type]
        (ReadTimeoutError(None, "/", "read timed out"), ProxyTimeout, "within 3s"),  # type: ignore[arg-type]
        (ConnectionRefusedError(111, "Connection refused"), ClusterUnreachable, "connection refused"),
        (ApiException(status=0, reason="SSLError: certificate verify failed"), ClusterUnreachable, "ca_cert"),
        (ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), ServiceProxyError, "failed"),
    ],
)
def test_transport_failures_are_mapped(exc: BaseException, error: type[Exception], text: str) -> None:
    with pytest.raises(error) as err:
        call_service(RaisingClient(exc), "sock-shop", "payment", 80, "/paymentAuth", method="POST", timeout=3)
    assert text in str(err.value)


def test_programming_errors_are_not_disguised() -> None:
    with pytest.raises(ZeroDivisionError):
        call_service(RaisingClient(ZeroDivisionError()), "ns", "svc", 80, "/")


class LegacyResponse:
    status = 200
    headers = {"Content-Type": "application/json"}
    data = b'{"ok": true}'


class LegacyClient:
    """kubernetes < 35: call_api(path, method, ...) returning urllib3 responses, ApiException on non-2xx."""

    def __init__(self, fail_status: int = 0) -> None:
        self.fail_status = fail_status
        self.calls: list[dict[str, Any]] = []
        self.configuration = Configuration(host="https://10.0.0.1:6443")

    def call_api(self, path: str, method: str, **kw: Any) -> Any:
        self.calls.append({"path": path, "method": method, **kw})
        if self.fail_status:
            exc = ApiException(status=self.fail_status, reason="Service Unavailable")
            exc.body = '{"kind": "Status", "message": "no endpoints available for service \\"payment\\""}'
            exc.headers = {"Content-Type": "application/json"}
            raise exc
        return LegacyResponse()


def test_legacy_client_success_and_error_answers() -> None:
    legacy = LegacyClient()
    ok = call_service(legacy, "sock-shop", "payment", 80, "/health")
    assert (ok.status, ok.body) == (200, b'{"ok": true}')
    call = legacy.calls[0]
    assert call["path"] == "/api/v1/namespaces/sock-shop/services/payment:80/proxy/health"
    assert call["auth_settings"] == ["BearerToken"]
    assert call["_preload_content"] is False
    failing = call_service(LegacyClient(fail_status=503), "sock-shop", "payment", 80, "/paymentAuth", method="POST")
    assert failing.status == 503
    assert is_no_endpoints(failing)
