"""The kbudde/rabbitmq_exporter stand-in against a real RabbitMQ broker (one per module, started by
kubesim.servers.rabbitmq): kbudde's names and labels, the queue depth and consumer count INCIDENT-5's signals
read, `rabbitmq_up` and /health when the broker is away."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from kubesim.servers import rabbitmq
from services.common import LineLog, make_server
from services.rabbitmq_exporter.app import ExporterConfig, ExporterService, flatten, parse_idle_since
from services.shipping.broker import QUEUE, declare_topology

QUEUE_LABELS = {"cluster", "vhost", "queue", "durable", "policy", "self"}


@pytest.fixture
def amqp(broker: rabbitmq.Broker) -> Iterator[Callable[[], pika.BlockingConnection]]:
    opened: list[pika.BlockingConnection] = []

    def connect() -> pika.BlockingConnection:
        credentials = pika.PlainCredentials("guest", "guest")
        params = pika.ConnectionParameters(broker.host, broker.amqp_port, credentials=credentials)
        opened.append(pika.BlockingConnection(params))
        return opened[-1]

    yield connect
    for connection in opened:
        if connection.is_open:
            connection.close()


@pytest.fixture(autouse=True)
def clean_broker(broker: rabbitmq.Broker) -> None:
    broker.management("DELETE", f"/api/queues/%2F/{QUEUE}")


@pytest.fixture
def exporter(broker: rabbitmq.Broker, run_server: Callable[..., Any]) -> Callable[..., str]:
    """`exporter(url=None)`: an exporter on the module's broker (or the given management URL); its base URL."""

    def start(url: str | None = None) -> str:
        config = ExporterConfig(url=url or broker.management_url, timeout_s=5.0)
        service = ExporterService(config, LineLog(io.StringIO()))
        return str(run_server(make_server(service.app, "127.0.0.1", 0)).url)

    return start


def scrape(call: Callable[..., Any], base: str) -> dict[str, list[Sample]]:
    answer = call("GET", base + "/metrics")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(answer.body.decode("utf-8")):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def queue_value(samples: dict[str, list[Sample]], name: str, queue: str = QUEUE) -> float | None:
    found = [s for s in samples.get(name, []) if s.labels.get("queue") == queue]
    assert len(found) <= 1
    return found[0].value if found else None


def wait_for_value(
    call: Callable[..., Any], base: str, name: str, expected: float, timeout: float = 15.0
) -> dict[str, list[Sample]]:
    """Scrape until the queue's metric shows `expected` (the management API refreshes its figures periodically)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(call, base)
        if queue_value(samples, name) == expected:
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} of {QUEUE} is {queue_value(samples, name)}, not {expected}")
        time.sleep(0.2)


def test_flatten_is_kbuddes_addfields() -> None:
    data = {"messages": 3, "durable": False, "slave_nodes": ["a", "b"], "message_stats": {"publish": 7}, "name": "q"}
    assert flatten(data) == {"messages": 3.0, "durable": 0.0, "slave_nodes_len": 2.0, "message_stats.publish": 7.0}
    assert parse_idle_since("2026-12-02 04:30:00") == 1796185800.0


def test_metrics_follow_the_queue_depth_and_consumers(
    broker: rabbitmq.Broker, exporter: Callable[..., str], amqp: Callable[[], pika.BlockingConnection], call: Any
) -> None:
    base = exporter()
    publisher = amqp()
    channel = declare_topology(publisher)  # the queue as shipping and queue-master declare it
    for _ in range(4):
        channel.basic_publish("", QUEUE, b'{"id":"1","name":"c"}')
    samples = wait_for_value(call, base, "rabbitmq_queue_messages", 4.0)

    (depth,) = [s for s in samples["rabbitmq_queue_messages"] if s.labels["queue"] == QUEUE]
    assert set(depth.labels) == QUEUE_LABELS
    assert depth.labels["vhost"] == "/"
    assert depth.labels["durable"] == "false"
    assert depth.labels["policy"] == ""
    assert depth.labels["self"] == "1"
    assert depth.labels["cluster"] == samples["rabbitmq_up"][0].labels["cluster"] != ""
    assert queue_value(samples, "rabbitmq_queue_messages_ready") == 4.0
    assert queue_value(samples, "rabbitmq_queue_messages_unacknowledged") == 0.0
    assert queue_value(samples, "rabbitmq_queue_consumers") == 0.0
    assert queue_value(samples, "rabbitmq_queue_messages_delivered_total") == 0.0
    samples = wait_for_value(call, base, "rabbitmq_queue_messages_published_total", 4.0)

    up = samples["rabbitmq_up"]
    assert [(s.labels["node"], s.value) for s in up] == [(broker.layout.node, 1.0)]
    modules = {s.labels["module"]: s.value for s in samples["rabbitmq_module_up"]}
    assert modules == {"overview": 1.0, "exchange": 1.0, "node": 1.0, "queue": 1.0}
    assert samples["rabbitmq_queues"][0].value >= 1
    assert samples["rabbitmq_version_info"][0].labels["rabbitmq"].startswith("3.")
    assert samples["rabbitmq_exporter_build_info"][0].labels["version"] == "1.0.0"
    assert any(s.labels["node"] == broker.layout.node for s in samples["rabbitmq_node_mem_used"])
    assert "rabbitmq_queue_state" in samples

    # A consumer arrives and drains the queue (queue-master scaled back to 1).
    consumer = amqp()
    consuming = consumer.channel()
    consuming.basic_qos(prefetch_count=1)
    consuming.basic_consume(QUEUE, lambda ch, method, _props, _body: ch.basic_ack(method.delivery_tag))
    deadline = time.monotonic() + 15
    while True:
        consumer.process_data_events(0.1)
        samples = scrape(call, base)
        if (
            queue_value(samples, "rabbitmq_queue_consumers") == 1.0
            and queue_value(samples, "rabbitmq_queue_messages") == 0
        ):
            break
        assert time.monotonic() < deadline, "consumers 1 and an empty queue never showed"
    wait_for_value(call, base, "rabbitmq_queue_messages_delivered_total", 4.0)


def test_the_incident_policy_shows_as_label_and_max_length(
    broker: rabbitmq.Broker, exporter: Callable[..., str], amqp: Callable[[], pika.BlockingConnection], call: Any
) -> None:
    declare_topology(amqp())
    policy = {"pattern": "^shipping-task$", "definition": {"max-length": 3, "overflow": "reject-publish"}}
    status, _ = broker.management("PUT", "/api/policies/%2F/shipping-limit", {**policy, "apply-to": "queues"})
    assert status in (201, 204)
    try:
        samples = wait_for_value(call, exporter(), "rabbitmq_queue_max_length", 3.0)
        (limit,) = [s for s in samples["rabbitmq_queue_max_length"] if s.labels["queue"] == QUEUE]
        assert limit.labels["policy"] == "shipping-limit"
    finally:
        broker.management("DELETE", "/api/policies/%2F/shipping-limit")


def test_health_and_up_when_the_broker_is_away(
    exporter: Callable[..., str], call: Any, refused_port: Callable[[], int]
) -> None:
    base = exporter(f"http://127.0.0.1:{refused_port()}")
    assert call("GET", base + "/health").status == 200  # healthy until a scrape says otherwise
    samples = scrape(call, base)
    assert [s.value for s in samples["rabbitmq_up"]] == [0.0]
    assert {s.labels["module"]: s.value for s in samples["rabbitmq_module_up"]}["overview"] == 0.0
    assert "rabbitmq_queue_messages" not in samples
    assert call("GET", base + "/health").status == 504
    index = call("GET", base + "/")
    assert index.status == 200 and b"RabbitMQ Exporter" in index.body


def test_main_reads_publish_port_and_rabbit_url(
    broker: rabbitmq.Broker, service_process: Callable[..., Any], call: Any, free_port: Callable[[], int]
) -> None:
    port = free_port()
    proc = service_process(
        "services.rabbitmq_exporter",
        env={"PUBLISH_PORT": str(port), "RABBIT_URL": broker.management_url},
    )
    assert proc.port == port
    samples = scrape(call, proc.url)
    assert [s.value for s in samples["rabbitmq_up"]] == [1.0]
    assert proc.stop() == 0
