"""The RabbitMQ side of shipping and queue-master, with pika: configuration, connection, topology, message format.

Both Java services configure Spring AMQP the same way (RabbitMqConfiguration.java in microservices-demo/shipping
and /queue-master): a CachingConnectionFactory on `spring.rabbitmq.host` (default `rabbitmq`), port 5672,
guest/guest, connection and close timeouts 5 s, and a RabbitAdmin that declares, when a connection opens:
- queue `shipping-task`, **not durable** (`new Queue("shipping-task", false)`), not exclusive, not auto-delete;
- topic exchange `shipping-task-exchange` (durable), bound to the queue with routing key `shipping-task`.
Shipping publishes through the default exchange with routing key `shipping-task`, converted by
Jackson2JsonMessageConverter: the body is the shipment as compact JSON `{"id":"...","name":"..."}`, properties
content_type `application/json`, content_encoding `UTF-8`, delivery_mode 2 (Spring's default, persistent),
priority 0, header `__TypeId__` = `works.weave.socks.shipping.entities.Shipment`.

Configuration from the environment (Spring's relaxed names first, then the plain ones the payment manifest uses):
SPRING_RABBITMQ_HOST / RABBITMQ_HOST (default `rabbitmq`), SPRING_RABBITMQ_PORT / RABBITMQ_PORT (5672),
SPRING_RABBITMQ_USERNAME / RABBITMQ_USER (guest), SPRING_RABBITMQ_PASSWORD / RABBITMQ_PASSWORD (guest),
SPRING_RABBITMQ_VIRTUAL_HOST / RABBITMQ_VHOST (`/`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

QUEUE = "shipping-task"
EXCHANGE = "shipping-task-exchange"
TYPE_ID = "works.weave.socks.shipping.entities.Shipment"
PRECONDITION_FAILED = 406

# Errors meaning "the broker (or the connection to it) is not there": pika's own and the socket's.
BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "rabbitmq"
    port: int = 5672
    username: str = "guest"
    password: str = "guest"
    vhost: str = "/"
    connect_timeout_s: float = 5.0  # CachingConnectionFactory.setConnectionTimeout(5000)
    heartbeat_s: int = 60  # the RabbitMQ Java client's requested heartbeat
    blocked_timeout_s: float = 5.0  # a connection the broker blocks (memory/disk alarm) is given up after this

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BrokerConfig:
        def pick(*names: str) -> str | None:
            for name in names:
                value = (env.get(name) or "").strip()
                if value:
                    return value
            return None

        port = int(pick("SPRING_RABBITMQ_PORT", "RABBITMQ_PORT") or 5672)
        if not 0 < port < 65536:
            raise ValueError(f"RabbitMQ port out of range: {port}")
        return cls(
            host=pick("SPRING_RABBITMQ_HOST", "RABBITMQ_HOST") or "rabbitmq",
            port=port,
            username=pick("SPRING_RABBITMQ_USERNAME", "RABBITMQ_USER", "RABBITMQ_USERNAME") or "guest",
            password=pick("SPRING_RABBITMQ_PASSWORD", "RABBITMQ_PASSWORD") or "guest",
            vhost=pick("SPRING_RABBITMQ_VIRTUAL_HOST", "RABBITMQ_VHOST") or "/",
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def parameters(self, client: str = "sock-shop") -> pika.ConnectionParameters:
        """Connection parameters; `client` names the connection in the management UI (connection_name)."""
        return pika.ConnectionParameters(
            host=self.host,
            port=self.port,
            virtual_host=self.vhost,
            credentials=pika.PlainCredentials(self.username, self.password),
            heartbeat=self.heartbeat_s,
            blocked_connection_timeout=self.blocked_timeout_s,
            socket_timeout=self.connect_timeout_s,
            stack_timeout=self.connect_timeout_s * 2,
            connection_attempts=1,
            client_properties={"connection_name": client},
        )

    def connect(self, client: str = "sock-shop") -> BlockingConnection:
        return pika.BlockingConnection(self.parameters(client))


def describe(error: BaseException) -> str:
    """One line naming a pika or socket error (pika's messages are often empty or nested tuples)."""
    text = str(error).strip()
    if not text or text in ("()", "(None,)"):
        text = repr(error)
    return f"{type(error).__name__}: {text}"


def close_quietly(connection: BlockingConnection | None) -> None:
    """Close a connection if it is open, ignoring a broker that is already gone."""
    if connection is not None and connection.is_open:
        with contextlib.suppress(*BROKER_ERRORS):
            connection.close()


def declare_topology(connection: BlockingConnection, log_warn: Any = None) -> BlockingChannel:
    """Declare what RabbitAdmin declares; return an open channel.

    A queue that already exists with other properties (durable, say) makes the broker close the channel with
    PRECONDITION_FAILED; the existing queue is then used as it is, on a fresh channel, and a warning logged."""
    channel = connection.channel()
    try:
        channel.queue_declare(QUEUE, durable=False, exclusive=False, auto_delete=False)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != PRECONDITION_FAILED:
            raise
        if log_warn is not None:
            log_warn(f"Queue {QUEUE} exists with other properties, using it as it is: {exc.reply_text}")
        channel = connection.channel()
        channel.queue_declare(QUEUE, passive=True)
    try:
        channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True, auto_delete=False)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != PRECONDITION_FAILED:
            raise
        if log_warn is not None:
            log_warn(f"Exchange {EXCHANGE} exists with other properties, using it as it is: {exc.reply_text}")
        channel = connection.channel()
    channel.queue_bind(QUEUE, EXCHANGE, routing_key=QUEUE)
    return channel


def message_body(shipment: Mapping[str, Any]) -> bytes:
    """The shipment as Jackson writes it: compact JSON, `id` then `name`."""
    return json.dumps({"id": shipment.get("id"), "name": shipment.get("name")}, separators=(",", ":")).encode()


def message_properties() -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        content_encoding="UTF-8",
        headers={"__TypeId__": TYPE_ID},
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=0,
    )
