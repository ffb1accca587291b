"""Every service answers GET /metrics with request_duration_seconds per method, route pattern and status."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.common import App, HTTPError, Request, Response


def request(method: str, path: str) -> Request:
    return Request(method, path, {}, {}, b"")  # type: ignore[arg-type]


def test_requests_are_counted_and_timed_by_route_pattern_and_status() -> None:
    app = App("orders")

    def get_order(req: Request) -> Response:
        if req.params["id"] == "missing":
            raise HTTPError(404, "no such order")
        return Response(200, {"id": req.params["id"]})

    app.add("GET", "/orders/{id}", get_order)
    for path in ("/orders/a", "/orders/b", "/orders/missing", "/nowhere"):
        app.handle(request("GET", path))
    scrape = app.handle(request("GET", "/metrics"))
    assert scrape.status == 200 and scrape.content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(scrape.raw.decode())}  # type: ignore[union-attr]
    counts = {
        (s.labels["route"], s.labels["status_code"]): s.value
        for s in families["request_duration_seconds"].samples
        if s.name == "request_duration_seconds_count"
    }
    assert counts == {("/orders/{id}", "200"): 2, ("/orders/{id}", "404"): 1, ("unmatched", "404"): 1}
    buckets = [s for s in families["request_duration_seconds"].samples if s.name.endswith("_bucket")]
    assert {s.labels["service"] for s in buckets} == {"orders"} and any(s.labels["le"] == "1.0" for s in buckets)
