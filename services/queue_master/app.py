"""Stand-in for the Sock Shop `queue-master` (quay.io/powercloud/sock-shop-queue-master), consuming with pika.

As microservices-demo/queue-master: a listener container on `shipping-task` (prefetch 1, manual acks) declares the
same topology as shipping (services/shipping/broker.py), converts each message to a Shipment and logs
`Received shipment task: <name>` (ShippingTaskHandler prints `shipment.getName()`; orders puts the customer id
there), then acks. A message that is not a shipment is rejected without requeue (Spring's conditional rejecting
error handler treats a conversion failure as fatal). When the broker is unreachable or closes the connection
(restart, forced close), the consumer logs it and retries every 5 s (Spring's recovery interval), so a backlog that
built up while it was away drains as soon as it is back. `GET /health` answers as the Java HealthCheckController.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal

import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from prometheus_client import Counter

from services.common import App, LineLog, Request, Response, serve, utc_now_ms
from services.shipping.broker import BROKER_ERRORS, QUEUE, BrokerConfig, close_quietly, declare_topology, describe

DEFAULT_PORT = 8080
RECOVERY_INTERVAL_S = 5.0
POLL_S = 0.2


def shipment_name(body: bytes) -> str:
    """`shipment.getName()` as Java prints it: the text, `null` for null; ValueError if not a shipment."""
    data = json.loads(body.decode("utf-8"), parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("message is not a JSON object")
    name = data.get("name", "")
    if name is None:
        return "null"
    if isinstance(name, bool):
        return "true" if name else "false"
    if isinstance(name, str | int | Decimal):
        return str(name)
    raise ValueError("name is not a string")


class Consumer:
    """The listener container: one thread owning one pika connection (pika is not thread-safe)."""

    def __init__(
        self,
        config: BrokerConfig,
        log: LineLog,
        recovery_interval_s: float = RECOVERY_INTERVAL_S,
        on_task: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.recovery_interval_s = recovery_interval_s
        self.on_task = on_task
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipping-task-consumer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except BROKER_ERRORS as exc:
                self.log.warn(
                    "Consumer raised exception, processing can restart if the connection factory supports it. "
                    f"Exception summary: {describe(exc)}"
                )
            finally:
                self.connected.clear()
            if self._stop.wait(self.recovery_interval_s):
                break
            self.log.info(f"Restarting Consumer on {QUEUE} ({self.config.where})")

    def _consume(self) -> None:
        connection = self.config.connect("queue-master")
        try:
            channel = declare_topology(connection, self.log.warn)
            channel.basic_qos(prefetch_count=1)
            channel.basic_consume(QUEUE, self._on_message, auto_ack=False)
            self.connected.set()
            self.log.info(f"Created new connection to {self.config.where}; consuming {QUEUE}")
            while not self._stop.is_set():
                connection.process_data_events(time_limit=POLL_S)
                if not connection.is_open:
                    raise pika.exceptions.ConnectionClosed(320, "connection closed")
        finally:
            self.connected.clear()
            close_quietly(connection)

    def _on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, _properties: BasicProperties, body: bytes
    ) -> None:
        try:
            name = shipment_name(body)
        except (UnicodeDecodeError, ValueError) as exc:
            self.log.warn(
                f"Execution of Rabbit message listener failed: could not convert the message to a Shipment "
                f"({exc}); rejected without requeue"
            )
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        self.log.info(f"Received shipment task: {name}")
        channel.basic_ack(method.delivery_tag)
        if self.on_task is not None:
            self.on_task(name)


class QueueMasterService:
    def __init__(
        self,
        config: BrokerConfig | None = None,
        log: LineLog | None = None,
        recovery_interval_s: float = RECOVERY_INTERVAL_S,
    ) -> None:
        self.app = App("queue-master", log)
        self.log = self.app.log
        self.config = config or BrokerConfig()
        self.received = Counter(
            "shipping_tasks_received",
            "Shipment tasks taken from the shipping-task queue and acknowledged.",
            registry=self.app.registry,
        )
        self.consumer = Consumer(self.config, self.log, recovery_interval_s, lambda _name: self.received.inc())
        self.app.add("GET", "/health", self.health)

    def start(self) -> None:
        self.consumer.start()

    def close(self) -> None:
        self.consumer.stop()

    def health(self, _request: Request) -> Response:
        now = utc_now_ms()
        broker = "OK" if self.consumer.connected.is_set() else "err"
        return Response(
            200,
            {
                "health": [
                    {"service": "queue-master", "status": "OK", "date": now},
                    {"service": "queue-master-rabbitmq", "status": broker, "date": now},
                ]
            },
        )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = BrokerConfig.from_env(os.environ)
        recovery = float(os.environ.get("QUEUE_MASTER_RECOVERY_INTERVAL_S") or RECOVERY_INTERVAL_S)
    except ValueError as exc:
        print(f"queue-master: invalid configuration: {exc}", flush=True)
        return 2
    service = QueueMasterService(config, recovery_interval_s=recovery)

    def started(port: int) -> None:
        service.log.info(f"Started queue-master on port {port} (rabbitmq {config.where}, queue {QUEUE})")
        service.start()

    try:
        return serve(service.app, list(sys.argv[1:] if argv is None else argv), DEFAULT_PORT, started)
    finally:
        service.close()
