"""Helpers for the tests that drive a real RabbitMQ broker (the `broker` fixture of conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pika

from kubesim.servers import rabbitmq
from services.shipping.broker import QUEUE


def amqp(broker: rabbitmq.Broker) -> pika.BlockingConnection:
    credentials = pika.PlainCredentials("guest", "guest")
    return pika.BlockingConnection(pika.ConnectionParameters(broker.host, broker.amqp_port, credentials=credentials))


def depth(broker: rabbitmq.Broker) -> int:
    """Messages in shipping-task right now (a passive declare, not the management API's lagging statistics)."""
    connection = amqp(broker)
    try:
        return int(connection.channel().queue_declare(QUEUE, passive=True).method.message_count)
    finally:
        connection.close()


def wait_until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
