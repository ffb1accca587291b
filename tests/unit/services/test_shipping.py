"""The shipping stand-in against a real RabbitMQ broker (one per module, started by kubesim.servers.rabbitmq):
the message it puts on `shipping-task`, its answers, INCIDENT-5A (fire and forget: a full queue drops silently)
and INCIDENT-5C (publisher confirms: a nack is a 503 "Queue unavailable"), a broker that is away or closes it."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from kubesim.servers import rabbitmq
from services.common import LineLog, make_server
from services.shipping.app import ShippingService, confirms_for, image_tag, shipment_from
from services.shipping.broker import EXCHANGE, QUEUE, TYPE_ID, BrokerConfig
from tests.unit.services.rabbit import amqp, depth, wait_until

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
LIMIT_POLICY = {
    "pattern": "^shipping-task$",
    "definition": {"max-length": 3, "overflow": "reject-publish"},
    "apply-to": "queues",
}


# --------------------------------------------------------------------------- the module's broker


def management(broker: rabbitmq.Broker, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return broker.management(method, path, body)


@pytest.fixture(autouse=True)
def clean_broker(broker: rabbitmq.Broker) -> Iterator[None]:
    """Every test starts without the queue and without the incident's policy."""
    management(broker, "DELETE", "/api/policies/%2F/shipping-limit")
    management(broker, "DELETE", f"/api/queues/%2F/{QUEUE}")
    yield
    management(broker, "DELETE", "/api/policies/%2F/shipping-limit")


# --------------------------------------------------------------------------- shipping in-process


@dataclass
class Shipping:
    service: ShippingService
    url: str
    log: io.StringIO

    def messages(self) -> list[str]:
        return [line.split(None, 2)[2] for line in self.log.getvalue().splitlines()]


@pytest.fixture
def shipping(broker: rabbitmq.Broker, run_server: Callable[..., Any]) -> Iterator[Callable[..., Shipping]]:
    services: list[ShippingService] = []

    def start(confirms: bool = False, port: int | None = None) -> Shipping:
        log = io.StringIO()
        config = BrokerConfig(host=broker.host, port=port or broker.amqp_port, connect_timeout_s=2.0)
        service = ShippingService(config, LineLog(log), confirms=confirms)
        services.append(service)
        running = run_server(make_server(service.app, "127.0.0.1", 0), log)
        return Shipping(service, running.url, log)

    yield start
    for service in services:
        service.close()


def ship(call: Callable[..., Any], shipping: Shipping, name: str = "57a98d98e4b00679b4a830b2") -> Any:
    return call("POST", shipping.url + "/shipping", {"id": str(uuid.uuid4()), "name": name})


def set_limit(broker: rabbitmq.Broker) -> None:
    status, _ = management(broker, "PUT", "/api/policies/%2F/shipping-limit", LIMIT_POLICY)
    assert status in (201, 204)
    status, policies = management(broker, "GET", "/api/policies")
    assert [p["name"] for p in policies] == ["shipping-limit"]


def wait_policy_applied(broker: rabbitmq.Broker) -> None:
    def applied() -> bool:
        status, queue = management(broker, "GET", f"/api/queues/%2F/{QUEUE}")
        return status == 200 and queue.get("policy") == "shipping-limit"

    wait_until(applied, 15, "the policy on shipping-task")


# --------------------------------------------------------------------------- pure helpers


def test_image_tag_selects_publisher_confirms() -> None:
    assert image_tag("quay.io/powercloud/sock-shop-shipping:publisher-confirms") == "publisher-confirms"
    assert image_tag("quay.io/powercloud/sock-shop-shipping") == "latest"
    assert image_tag("localhost:5000/sock-shop-shipping:v1@sha256:abc") == "v1"
    assert confirms_for("quay.io/powercloud/sock-shop-shipping:publisher-confirms")
    assert not confirms_for("quay.io/powercloud/sock-shop-shipping:latest")
    assert not confirms_for(None)


def test_shipment_binding_is_jacksons() -> None:
    assert shipment_from({"id": "a", "name": "b", "extra": 1}) == {"id": "a", "name": "b"}
    generated = shipment_from({"name": "b"})
    assert uuid.UUID(generated["id"]) and generated["name"] == "b"
    assert shipment_from({"id": 7, "name": None}) == {"id": "7", "name": None}


# --------------------------------------------------------------------------- publishing


def test_post_publishes_the_shipment_as_spring_amqp_does(
    broker: rabbitmq.Broker, shipping: Callable[..., Shipping], call: Callable[..., Any]
) -> None:
    svc = shipping()
    answer = call("POST", svc.url + "/shipping", {"id": "ship-1", "name": "57a98d98e4b00679b4a830b2"})
    assert answer.status == 201
    assert answer.json() == {"id": "ship-1", "name": "57a98d98e4b00679b4a830b2"}
    assert re.search(rf"^{STAMP} INFO  Adding shipment to queue\.\.\.$", svc.log.getvalue(), re.MULTILINE)

    connection = amqp(broker)
    try:
        channel = connection.channel()
        method, props, body = channel.basic_get(QUEUE, auto_ack=True)
    finally:
        connection.close()
    assert method is not None and method.exchange == "" and method.routing_key == QUEUE
    assert body == b'{"id":"ship-1","name":"57a98d98e4b00679b4a830b2"}'
    assert props.content_type == "application/json"
    assert props.content_encoding == "UTF-8"
    assert props.delivery_mode == 2
    assert props.headers == {"__TypeId__": TYPE_ID}


def test_topology_is_the_java_services(broker: rabbitmq.Broker, shipping: Callable[..., Shipping], call: Any) -> None:
    assert ship(call, shipping()).status == 201
    status, queue = management(broker, "GET", f"/api/queues/%2F/{QUEUE}")
    assert status == 200
    assert (queue["durable"], queue["auto_delete"], queue["exclusive"]) == (False, False, False)
    status, exchange = management(broker, "GET", f"/api/exchanges/%2F/{EXCHANGE}")
    assert status == 200 and exchange["type"] == "topic" and exchange["durable"] is True
    status, bindings = management(broker, "GET", f"/api/exchanges/%2F/{EXCHANGE}/bindings/source")
    assert [(b["destination"], b["routing_key"]) for b in bindings] == [(QUEUE, QUEUE)]


def test_shipments_pile_up_without_a_consumer(
    broker: rabbitmq.Broker, shipping: Callable[..., Shipping], call: Any
) -> None:
    """INCIDENT-5 from shipping's side: every order still gets its 201 while the queue grows."""
    svc = shipping()
    for n in range(1, 6):
        assert ship(call, svc).status == 201
        assert depth(broker) == n
    assert svc.messages().count("Adding shipment to queue...") == 5


def test_get_endpoints_answer_as_the_java_controller(shipping: Callable[..., Shipping], call: Any) -> None:
    svc = shipping()
    answer = call("GET", svc.url + "/shipping")
    assert (answer.status, answer.body) == (200, b"GET ALL Shipping Resource.")
    assert answer.headers["content-type"].startswith("text/plain")
    answer = call("GET", svc.url + "/shipping/abc-1")
    assert (answer.status, answer.body) == (200, b"GET Shipping Resource with id: abc-1")


def test_health_reports_the_broker(shipping: Callable[..., Shipping], call: Any, free_port: Callable[[], int]) -> None:
    answer = call("GET", shipping().url + "/health")
    assert answer.status == 200
    health = answer.json()["health"]
    assert [(h["service"], h["status"]) for h in health] == [("shipping-rabbitmq", "OK"), ("shipping", "OK")]
    assert re.fullmatch(STAMP, health[0]["date"])
    down = call("GET", shipping(port=free_port()).url + "/health").json()["health"]
    assert [(h["service"], h["status"]) for h in down] == [("shipping-rabbitmq", "err"), ("shipping", "OK")]


def test_malformed_body_is_a_spring_400(shipping: Callable[..., Shipping], call: Any) -> None:
    svc = shipping()
    answer = call("POST", svc.url + "/shipping", b"{not json", {"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json()["error"] == "Bad Request"
    assert "Adding shipment to queue..." not in svc.messages()


# --------------------------------------------------------------------------- INCIDENT-5A / 5C


def test_5c_publisher_confirms_nack_is_503_queue_unavailable(
    broker: rabbitmq.Broker, shipping: Callable[..., Shipping], call: Any
) -> None:
    svc = shipping(confirms=True)
    assert ship(call, svc).status == 201  # declares the queue
    assert svc.messages().count("Adding shipment to queue with publisher confirms...") == 1
    assert svc.messages().count("Message confirmed by RabbitMQ") == 1
    set_limit(broker)
    wait_policy_applied(broker)
    answers = [ship(call, svc) for _ in range(3)]
    assert [a.status for a in answers] == [201, 201, 503]
    assert answers[2].json()["error"] == "Queue unavailable"
    assert depth(broker) == 3
    log = svc.messages()
    assert log.count("Message confirmed by RabbitMQ") == 3
    assert log.count("Message rejected by RabbitMQ: Unknown") == 1
    assert re.search(rf"{STAMP} ERROR Message rejected by RabbitMQ: Unknown", svc.log.getvalue())
    # No retry: one more order is one more rejection, and the queue stays at its limit.
    assert ship(call, svc).status == 503
    assert svc.messages().count("Message rejected by RabbitMQ: Unknown") == 2
    assert depth(broker) == 3


def test_5a_without_confirms_a_full_queue_drops_silently(
    broker: rabbitmq.Broker, shipping: Callable[..., Shipping], call: Any
) -> None:
    svc = shipping(confirms=False)
    assert ship(call, svc).status == 201
    set_limit(broker)
    wait_policy_applied(broker)
    statuses = [ship(call, svc).status for _ in range(6)]
    assert statuses == [201] * 6  # the UI says "Shipped" for all of them
    assert depth(broker) == 3  # 4 of the 7 are gone
    assert svc.messages().count("Adding shipment to queue...") == 7
    assert not [line for line in svc.log.getvalue().splitlines() if " ERROR " in line or " WARN " in line]


# --------------------------------------------------------------------------- a broker away, or closing the connection


def test_unreachable_broker(shipping: Callable[..., Shipping], call: Any, free_port: Callable[[], int]) -> None:
    port = free_port()
    plain = shipping(port=port)
    answer = ship(call, plain)
    assert answer.status == 201  # the Java code accepts anyway
    assert re.search(
        r"ERROR Unable to add to queue \(the queue is probably down\)\. Accepting anyway\. Don't do this for real! "
        r"\(AMQPConnectionError: .*",
        plain.log.getvalue(),
    )
    confirmed = shipping(confirms=True, port=port)
    answer = ship(call, confirmed)
    assert answer.status == 503
    assert answer.json()["error"] == "Queue unavailable"
    assert re.search(r"ERROR Unable to add to queue: AMQPConnectionError", confirmed.log.getvalue())


def test_a_connection_the_broker_closes_is_replaced(
    broker: rabbitmq.Broker, shipping: Callable[..., Shipping], call: Any
) -> None:
    svc = shipping(confirms=True)
    assert ship(call, svc).status == 201

    def connections() -> list[str]:
        status, found = management(broker, "GET", "/api/connections")
        return [c["name"] for c in found or []] if status == 200 else []

    wait_until(lambda: len(connections()) >= 1, 10, "shipping's connection in the management API")
    statuses = [management(broker, "DELETE", f"/api/connections/{quote(name, safe='')}")[0] for name in connections()]
    assert 204 in statuses
    time.sleep(0.3)
    assert ship(call, svc).status == 201  # a new connection, no error for the order
    assert depth(broker) == 2
    assert svc.messages().count("Message confirmed by RabbitMQ") == 2


# --------------------------------------------------------------------------- the program


def test_main_reads_the_image_tag_and_the_broker_from_the_environment(
    broker: rabbitmq.Broker, service_process: Callable[..., Any], call: Any, tmp_path: Path
) -> None:
    proc = service_process(
        "services.shipping",
        "--port=0",
        env={
            "KUBESIM_IMAGE": "quay.io/powercloud/sock-shop-shipping:publisher-confirms",
            "RABBITMQ_HOST": broker.host,
            "RABBITMQ_PORT": str(broker.amqp_port),
        },
    )
    assert re.search(
        r"Started shipping service on port \d+ \(rabbitmq 127\.0\.0\.1:\d+, publisher confirms on\)", proc.output[0]
    )
    assert call("POST", proc.url + "/shipping", {"id": "x", "name": "y"}).status == 201
    proc.wait_for("Message confirmed by RabbitMQ")
    assert proc.stop() == 0
