"""Stand-in for the Sock Shop `shipping` service (quay.io/powercloud/sock-shop-shipping), publishing with pika.

`POST /shipping` takes a shipment `{"id": ..., "name": ...}` (orders sends one per paid order; `name` is the
customer id), publishes it to the queue `shipping-task` (see services/shipping/broker.py for the message format)
and answers 201 with the shipment. Two images, two behaviours (CATALOG INCIDENT-5A / 5C):
- `:latest` (fire and forget, as microservices-demo/shipping): logs `Adding shipment to queue...` and answers 201
  whatever happens; a publish the broker drops (a full queue with `overflow: reject-publish`) is lost silently,
  and a broker it cannot reach is logged (`Unable to add to queue (the queue is probably down). Accepting
  anyway. Don't do this for real!` with the pika error) and the shipment accepted anyway, as the Java code does.
- `:publisher-confirms` (the lab's rebuilt image; chosen when $KUBESIM_IMAGE has that tag): the channel is in
  confirm mode; logs `Adding shipment to queue with publisher confirms...`, then `Message confirmed by RabbitMQ`
  and 201 on an ack, or `Message rejected by RabbitMQ: Unknown` and 503 `{"error": "Queue unavailable", ...}` on
  a nack (no retry); a broker it cannot reach also answers 503 (the pika error logged).

One pika BlockingConnection serves all HTTP threads under a lock (pika is not thread-safe); a broken connection
is dropped and a new one opened on the next request; a keep-alive thread answers the broker's heartbeats.
`GET /shipping`, `GET /shipping/{id}` and `GET /health` answer as the Java controller does.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from services.common import App, HTTPError, LineLog, Request, Response, serve, spring_error_body, utc_now_ms
from services.shipping.broker import (
    BROKER_ERRORS,
    QUEUE,
    BrokerConfig,
    close_quietly,
    declare_topology,
    describe,
    message_body,
    message_properties,
)

DEFAULT_PORT = 8080
CONFIRMS_TAG = "publisher-confirms"
KEEPALIVE_S = 5.0
TEXT = "text/plain;charset=UTF-8"


def image_tag(image: str) -> str:
    """The tag of an image reference (`latest` when it has none)."""
    name = image.strip().split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def confirms_for(image: str | None) -> bool:
    return bool(image) and image_tag(image or "") == CONFIRMS_TAG


class Rejected(Exception):
    """The broker nacked the message (publisher confirms)."""


class Unavailable(Exception):
    """No connection to the broker, or it broke while publishing."""


class Publisher:
    """The service's one connection and channel, shared by the HTTP threads under a lock."""

    def __init__(self, config: BrokerConfig, log: LineLog, confirms: bool) -> None:
        self.config = config
        self.log = log
        self.confirms = confirms
        self._lock = threading.Lock()
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._stop = threading.Event()
        self._keepalive = threading.Thread(target=self._keep_alive, name="amqp-keepalive", daemon=True)
        self._keepalive.start()

    # ------------------------------------------------------------------ connection

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        close_quietly(connection)

    def _open(self) -> BlockingChannel:
        """The open channel, connecting (and declaring the topology) when there is none. Lock held."""
        if self._connection is not None and self._channel is not None:
            try:
                # Notice a connection the broker closed (restart, forced close, missed heartbeats) before
                # publishing on it; also answers heartbeats.
                self._connection.process_data_events(0)
            except BROKER_ERRORS:
                self._drop()
            else:
                if self._connection.is_open and self._channel.is_open:
                    return self._channel
                self._drop()
        try:
            connection = self.config.connect("shipping")
        except BROKER_ERRORS as exc:
            raise Unavailable(describe(exc)) from exc
        try:
            channel = declare_topology(connection, self.log.warn)
            if self.confirms:
                channel.confirm_delivery()
        except BROKER_ERRORS as exc:
            close_quietly(connection)
            raise Unavailable(describe(exc)) from exc
        self._connection, self._channel = connection, channel
        self.log.info(f"Created new connection to {self.config.where} (vhost {self.config.vhost})")
        return channel

    def _keep_alive(self) -> None:
        while not self._stop.wait(KEEPALIVE_S):
            with self._lock:
                if self._connection is None:
                    continue
                try:
                    self._connection.process_data_events(0)
                except BROKER_ERRORS as exc:
                    self.log.warn(f"Connection to {self.config.where} lost: {describe(exc)}")
                    self._drop()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._drop()
        self._keepalive.join(timeout=2 * KEEPALIVE_S)

    # ------------------------------------------------------------------ operations

    def publish(self, body: bytes) -> None:
        """Publish to `shipping-task` through the default exchange. Raises Rejected on a nack (confirm mode)
        and Unavailable when the broker cannot be reached or the connection breaks."""
        with self._lock:
            channel = self._open()
            try:
                channel.basic_publish("", QUEUE, body, message_properties())
            except pika.exceptions.NackError as exc:
                raise Rejected("Unknown") from exc
            except pika.exceptions.UnroutableError as exc:  # only with mandatory publishes; kept for safety
                raise Rejected("Unroutable") from exc
            except BROKER_ERRORS as exc:
                self._drop()
                raise Unavailable(describe(exc)) from exc

    def check(self) -> bool:
        """Whether the broker answers (connects when needed, as the Java health check does)."""
        with self._lock:
            try:
                self._open()
            except Unavailable:
                return False
            return True


# --------------------------------------------------------------------------- the service


def _as_text(name: str, value: Any) -> str | None:
    """A JSON value as Jackson binds it to a String field (scalars become their text; null stays null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    raise HTTPError(
        400,
        f"JSON parse error: Can not deserialize instance of java.lang.String out of "
        f"{'START_OBJECT' if isinstance(value, dict) else 'START_ARRAY'} token (field {name!r})",
    )


def shipment_from(data: Mapping[str, Any]) -> dict[str, Any]:
    """The Shipment entity: a missing id gets a random UUID and a missing name "" (its no-arg constructor)."""
    shipment: dict[str, Any] = {"id": str(uuid.uuid4()), "name": ""}
    for key in ("id", "name"):
        if key in data:
            shipment[key] = _as_text(key, data[key])
    return shipment


class ShippingService:
    def __init__(self, config: BrokerConfig | None = None, log: LineLog | None = None, confirms: bool = False) -> None:
        self.app = App("shipping", log, spring_error_body)
        self.log = self.app.log
        self.config = config or BrokerConfig()
        self.confirms = confirms
        self.publisher = Publisher(self.config, self.log, confirms)
        app = self.app
        app.add("POST", "/shipping", self.post_shipping)
        app.add("GET", "/shipping", self.get_all)
        app.add("GET", "/shipping/{id}", self.get_one)
        app.add("GET", "/health", self.health)

    def close(self) -> None:
        self.publisher.close()

    def post_shipping(self, request: Request) -> Response:
        shipment = shipment_from(request.json_object())
        body = message_body(shipment)
        if not self.confirms:
            self.log.info("Adding shipment to queue...")
            try:
                self.publisher.publish(body)
            except (Unavailable, Rejected) as exc:
                self.log.error(
                    "Unable to add to queue (the queue is probably down). Accepting anyway. "
                    f"Don't do this for real! ({exc})"
                )
            return Response(201, shipment)

        self.log.info("Adding shipment to queue with publisher confirms...")
        try:
            self.publisher.publish(body)
        except Rejected as exc:
            self.log.error(f"Message rejected by RabbitMQ: {exc}")
            return Response(503, {"error": "Queue unavailable", "reason": f"Message rejected by queue: {exc}"})
        except Unavailable as exc:
            self.log.error(f"Unable to add to queue: {exc}")
            return Response(503, {"error": "Queue unavailable", "reason": str(exc)})
        self.log.info("Message confirmed by RabbitMQ")
        return Response(201, shipment)

    def get_all(self, _request: Request) -> Response:
        return Response(200, raw=b"GET ALL Shipping Resource.", content_type=TEXT)

    def get_one(self, request: Request) -> Response:
        text = f"GET Shipping Resource with id: {request.params['id']}"
        return Response(200, raw=text.encode("utf-8"), content_type=TEXT)

    def health(self, _request: Request) -> Response:
        now = utc_now_ms()
        broker = "OK" if self.publisher.check() else "err"
        return Response(
            200,
            {
                "health": [
                    {"service": "shipping-rabbitmq", "status": broker, "date": now},
                    {"service": "shipping", "status": "OK", "date": now},
                ]
            },
        )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = BrokerConfig.from_env(os.environ)
    except ValueError as exc:
        print(f"shipping: invalid configuration: {exc}", flush=True)
        return 2
    confirms = confirms_for(os.environ.get("KUBESIM_IMAGE"))
    service = ShippingService(config, confirms=confirms)

    def started(port: int) -> None:
        mode = "on" if confirms else "off"
        service.log.info(
            f"Started shipping service on port {port} (rabbitmq {config.where}, publisher confirms {mode})"
        )

    try:
        return serve(service.app, list(sys.argv[1:] if argv is None else argv), DEFAULT_PORT, started)
    finally:
        service.close()
