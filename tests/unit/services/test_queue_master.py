"""The queue-master stand-in against a real RabbitMQ broker (one per module, started by kubesim.servers.rabbitmq),
fed by the shipping stand-in: the log line per task, the backlog of INCIDENT-5 and its drain, reconnection."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pika
import pytest

from kubesim.servers import rabbitmq
from services.common import LineLog, make_server
from services.queue_master.app import QueueMasterService, shipment_name
from services.shipping.app import ShippingService
from services.shipping.broker import QUEUE, BrokerConfig
from tests.unit.services.rabbit import depth, wait_until

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture(autouse=True)
def clean_broker(broker: rabbitmq.Broker) -> None:
    broker.management("DELETE", f"/api/queues/%2F/{QUEUE}")


@dataclass
class QueueMaster:
    service: QueueMasterService
    url: str
    log: io.StringIO

    def received(self) -> list[str]:
        return [
            m.group(1) for m in re.finditer(rf"^{STAMP} INFO  Received shipment task: (.*)$", self.log.getvalue(), re.M)
        ]


@dataclass
class Shop:
    """Shipping (fire and forget) and a way to start and stop queue-masters, all on the module's broker."""

    broker: rabbitmq.Broker
    shipping_url: str
    call: Callable[..., Any]
    start_queue_master: Callable[[], QueueMaster]

    def ship(self, name: str) -> int:
        answer = self.call("POST", self.shipping_url + "/shipping", {"id": str(uuid.uuid4()), "name": name})
        return int(answer.status)


@pytest.fixture
def shop(broker: rabbitmq.Broker, run_server: Callable[..., Any], call: Callable[..., Any]) -> Iterator[Shop]:
    config = BrokerConfig(host=broker.host, port=broker.amqp_port, connect_timeout_s=2.0)
    shipping = ShippingService(config, LineLog(io.StringIO()))
    shipping_url = run_server(make_server(shipping.app, "127.0.0.1", 0)).url
    masters: list[QueueMasterService] = []

    def start_queue_master() -> QueueMaster:
        log = io.StringIO()
        service = QueueMasterService(config, LineLog(log), recovery_interval_s=0.2)
        masters.append(service)
        url = run_server(make_server(service.app, "127.0.0.1", 0), log).url
        service.start()
        wait_until(service.consumer.connected.is_set, 10, "the consumer to connect")
        return QueueMaster(service, url, log)

    yield Shop(broker, shipping_url, call, start_queue_master)
    for service in masters:
        service.close()
    shipping.close()


def test_shipment_name_is_what_java_prints() -> None:
    assert shipment_name(b'{"id":"1","name":"57a98d98e4b00679b4a830b2"}') == "57a98d98e4b00679b4a830b2"
    assert shipment_name(b'{"id":"1","name":null}') == "null"
    assert shipment_name(b'{"id":"1"}') == ""
    with pytest.raises(ValueError):
        shipment_name(b"[1, 2]")


def test_shipping_publishes_and_queue_master_consumes(shop: Shop) -> None:
    master = shop.start_queue_master()
    for customer in ("customer-a", "customer-b"):
        assert shop.ship(customer) == 201
    wait_until(lambda: len(master.received()) == 2, 10, "two received tasks")
    assert master.received() == ["customer-a", "customer-b"]
    assert depth(shop.broker) == 0  # acked: nothing left, nothing unacknowledged
    wait_until(lambda: shop.broker.management("GET", f"/api/queues/%2F/{QUEUE}")[1].get("consumers") == 1, 10)


def test_incident_5_backlog_grows_with_no_consumer_and_drains_when_it_returns(shop: Shop) -> None:
    first = shop.start_queue_master()
    first.service.close()  # queue-master scaled to 0
    wait_until(lambda: not first.service.consumer.connected.is_set(), 5, "the consumer to go")
    for n in range(1, 5):
        assert shop.ship(f"customer-{n}") == 201  # orders keep succeeding
        assert depth(shop.broker) == n  # the backlog grows, nothing consumes it
    assert first.received() == []
    back = shop.start_queue_master()  # scaled back to 1
    wait_until(lambda: len(back.received()) == 4, 10, "the backlog to drain")
    assert back.received() == ["customer-1", "customer-2", "customer-3", "customer-4"]
    assert depth(shop.broker) == 0


def test_consumer_reconnects_after_the_broker_closes_its_connection(shop: Shop) -> None:
    master = shop.start_queue_master()

    def connections() -> list[str]:
        status, found = shop.broker.management("GET", "/api/connections")
        return [c["name"] for c in found or []] if status == 200 else []

    wait_until(lambda: len(connections()) >= 1, 10, "connections in the management API")
    for name in connections():
        shop.broker.management("DELETE", f"/api/connections/{quote(name, safe='')}")
    wait_until(lambda: "Restarting Consumer" in master.log.getvalue(), 10, "the consumer to restart")
    wait_until(master.service.consumer.connected.is_set, 10, "the consumer to reconnect")
    assert re.search(
        r"WARN  Consumer raised exception, .* Exception summary: ConnectionClosedByBroker", master.log.getvalue()
    )
    assert shop.ship("after-restart") == 201
    wait_until(lambda: master.received() == ["after-restart"], 10, "the task after the reconnect")


def test_a_message_that_is_not_a_shipment_is_rejected_without_requeue(shop: Shop) -> None:
    master = shop.start_queue_master()
    credentials = pika.PlainCredentials("guest", "guest")
    params = pika.ConnectionParameters(shop.broker.host, shop.broker.amqp_port, credentials=credentials)
    connection = pika.BlockingConnection(params)
    try:
        connection.channel().basic_publish("", QUEUE, b"not json")
    finally:
        connection.close()
    wait_until(lambda: "Execution of Rabbit message listener failed" in master.log.getvalue(), 10, "the rejection")
    assert shop.ship("next") == 201
    wait_until(lambda: master.received() == ["next"], 10, "the next task")
    assert depth(shop.broker) == 0


def test_health_names_the_broker_connection(shop: Shop, free_port: Callable[[], int]) -> None:
    master = shop.start_queue_master()
    health = shop.call("GET", master.url + "/health").json()["health"]
    assert [(h["service"], h["status"]) for h in health] == [("queue-master", "OK"), ("queue-master-rabbitmq", "OK")]
    assert re.fullmatch(STAMP, health[0]["date"])
    assert "shipping_tasks_received_total 0.0" in shop.call("GET", master.url + "/metrics").body.decode()

    log = io.StringIO()
    away = QueueMasterService(BrokerConfig(host="127.0.0.1", port=free_port()), LineLog(log), recovery_interval_s=0.2)
    away.start()
    try:
        wait_until(lambda: "Consumer raised exception" in log.getvalue(), 10, "a connection failure")
        health = away.health(None).body["health"]  # type: ignore[arg-type]
        assert [(h["service"], h["status"]) for h in health] == [
            ("queue-master", "OK"),
            ("queue-master-rabbitmq", "err"),
        ]
        assert "AMQPConnectionError" in log.getvalue()
    finally:
        away.close()


def test_main_consumes_with_the_broker_from_the_environment(
    broker: rabbitmq.Broker, shop: Shop, service_process: Callable[..., Any]
) -> None:
    proc = service_process(
        "services.queue_master",
        "--port=0",
        env={"RABBITMQ_HOST": broker.host, "RABBITMQ_PORT": str(broker.amqp_port)},
    )
    assert re.search(
        r"Started queue-master on port \d+ \(rabbitmq 127\.0\.0\.1:\d+, queue shipping-task\)", proc.output[0]
    )
    proc.wait_for("consuming shipping-task")
    assert shop.ship("from-main") == 201
    proc.wait_for("Received shipment task: from-main")
    assert proc.stop() == 0
