"""Stand-in for kbudde/rabbitmq_exporter 1.0.0, the rabbitmq pod's sidecar (ghcr.io/kbudde/rabbitmq_exporter).

At every scrape of `GET /metrics` a prometheus_client collector asks the management API (`/api/overview`, then
`/api/exchanges`, `/api/nodes`, `/api/queues`) and answers with kbudde's metric names and labels:
- `rabbitmq_up{cluster,node}` (1 when every module answered), `rabbitmq_module_up{cluster,node,module}`,
  `rabbitmq_module_scrape_duration_seconds{...}`, `rabbitmq_exporter_build_info{version,...}`;
- overview, labels `cluster`: `rabbitmq_channels`, `_connections`, `_consumers`, `_queues`, `_exchanges`,
  `rabbitmq_queue_messages_global`, `..._ready_global`, `..._unacknowledged_global`, the publish/deliver rates,
  and `rabbitmq_version_info{rabbitmq,erlang,node,cluster}`;
- per queue, labels `cluster, vhost, queue, durable, policy, self`: gauges `rabbitmq_queue_messages`,
  `_messages_ready`, `_messages_unacknowledged`, `_consumers`, `_memory`, ... (present when the API has the
  field), `rabbitmq_queue_max_length` (lower of argument and effective policy), `rabbitmq_queue_state{...,state}`,
  and counters `rabbitmq_queue_messages_published_total`, `_delivered_total`, `_confirmed_total`, ... (0 when
  the API has no such statistic yet);
- per exchange (`cluster, vhost, exchange`) the message counters; per node (`cluster, node, self`) memory, disk,
  file descriptor and socket gauges.
`self` is "1" for objects on the node the exporter is attached to. The management API refreshes its statistics
every `collect_statistics_interval` (RabbitMQ's default 5 s), so a queue's depth lags by up to that much.

Configuration as kbudde's: RABBIT_URL (here default http://localhost:15672: the broker in the same pod),
RABBIT_USER / RABBIT_PASSWORD (guest/guest), RABBIT_TIMEOUT (30 s), RABBIT_EXPORTERS
(exchange,node,overview,queue), INCLUDE_QUEUES / SKIP_QUEUES / INCLUDE_VHOST / SKIP_VHOST (regular
expressions), PUBLISH_PORT (here default 9090, the port the Sock Shop manifest declares; kbudde 1.0.0's own
default is 9419), PUBLISH_ADDR. `GET /health` answers 200 after a good scrape, 504 after a failed one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.common import App, ClientError, LineLog, Request, Response, http_request, serve

VERSION = "1.0.0"
DEFAULT_PORT = 9090
MODULES = ("exchange", "node", "overview", "queue")

QUEUE_LABELS = ["cluster", "vhost", "queue", "durable", "policy", "self"]
EXCHANGE_LABELS = ["cluster", "vhost", "exchange"]
NODE_LABELS = ["cluster", "node", "self"]

OVERVIEW_GAUGES = {
    "object_totals.channels": ("channels", "Number of channels."),
    "object_totals.connections": ("connections", "Number of connections."),
    "object_totals.consumers": ("consumers", "Number of message consumers."),
    "object_totals.queues": ("queues", "Number of queues in use."),
    "object_totals.exchanges": ("exchanges", "Number of exchanges in use."),
    "queue_totals.messages": ("queue_messages_global", "Number ready and unacknowledged messages in cluster."),
    "queue_totals.messages_ready": (
        "queue_messages_ready_global",
        "Number of messages ready to be delivered to clients.",
    ),
    "queue_totals.messages_unacknowledged": (
        "queue_messages_unacknowledged_global",
        "Number of messages delivered to clients but not yet acknowledged.",
    ),
    "message_stats.publish_details.rate": ("messages_publish_rate", "Rate at which messages are entering the server."),
    "message_stats.deliver_no_ack_details.rate": (
        "messages_deliver_no_ack_rate",
        "Rate at which messages are delivered to consumers that use automatic acknowledgements.",
    ),
    "message_stats.deliver_details.rate": (
        "messages_deliver_rate",
        "Rate at which messages are delivered to consumers that use manual acknowledgements.",
    ),
}

QUEUE_GAUGES = {
    "messages_ready": ("queue_messages_ready", "Number of messages ready to be delivered to clients."),
    "messages_unacknowledged": (
        "queue_messages_unacknowledged",
        "Number of messages delivered to clients but not yet acknowledged.",
    ),
    "messages": ("queue_messages", "Sum of ready and unacknowledged messages (queue depth)."),
    "messages_ready_ram": (
        "queue_messages_ready_ram",
        "Number of messages from messages_ready which are resident in ram.",
    ),
    "messages_unacknowledged_ram": (
        "queue_messages_unacknowledged_ram",
        "Number of messages from messages_unacknowledged which are resident in ram.",
    ),
    "messages_ram": ("queue_messages_ram", "Total number of messages which are resident in ram."),
    "messages_persistent": (
        "queue_messages_persistent",
        "Total number of persistent messages in the queue (will always be 0 for transient queues).",
    ),
    "message_bytes": ("queue_message_bytes", "Sum of the size of all message bodies in the queue."),
    "message_bytes_ready": ("queue_message_bytes_ready", "Like message_bytes but counting only ready messages."),
    "message_bytes_unacknowledged": (
        "queue_message_bytes_unacknowledged",
        "Like message_bytes but counting only unacknowledged messages.",
    ),
    "message_bytes_ram": ("queue_message_bytes_ram", "Like message_bytes but counting only messages in RAM."),
    "message_bytes_persistent": (
        "queue_message_bytes_persistent",
        "Like message_bytes but counting only persistent messages.",
    ),
    "consumers": ("queue_consumers", "Number of consumers."),
    "consumer_utilisation": (
        "queue_consumer_utilisation",
        "Fraction of the time (between 0.0 and 1.0) that the queue is able to immediately deliver messages to "
        "consumers.",
    ),
    "memory": ("queue_memory", "Bytes of memory consumed by the Erlang process associated with the queue."),
    "head_message_timestamp": (
        "queue_head_message_timestamp",
        "The timestamp property of the first message in the queue, if present.",
    ),
    "garbage_collection.min_heap_size": ("queue_gc_min_heap", "Minimum heap size in words"),
    "garbage_collection.min_bin_vheap_size": ("queue_gc_min_vheap", "Minimum binary virtual heap size in words"),
    "garbage_collection.fullsweep_after": (
        "queue_gc_collections_before_fullsweep",
        "Maximum generational collections before fullsweep",
    ),
    "slave_nodes_len": ("queue_slaves_nodes_len", "Number of slave nodes attached to the queue"),
    "synchronised_slave_nodes_len": (
        "queue_synchronised_slave_nodes_len",
        "Number of slave nodes in sync to the queue",
    ),
    "members_len": ("queue_member_nodes_len", "Number of quorum queue member nodes for the queue"),
    "online_len": ("queue_online_nodes_len", "Number of online members nodes for the queue"),
    "message_stats.publish_details.rate": (
        "queue_messages_publish_rate",
        "Rate at which messages are entering the server.",
    ),
    "message_stats.deliver_no_ack_details.rate": (
        "queue_messages_deliver_no_ack_rate",
        "Rate at which messages are delivered to consumers that use automatic acknowledgements.",
    ),
    "message_stats.deliver_details.rate": (
        "queue_messages_deliver_rate",
        "Rate at which messages are delivered to consumers that use manual acknowledgements.",
    ),
}

QUEUE_COUNTERS = {
    "disk_reads": ("queue_disk_reads_total", "Total number of times messages have been read from disk by this queue."),
    "disk_writes": (
        "queue_disk_writes_total",
        "Total number of times messages have been written to disk by this queue.",
    ),
    "message_stats.publish": ("queue_messages_published_total", "Count of messages published."),
    "message_stats.confirm": ("queue_messages_confirmed_total", "Count of messages confirmed. "),
    "message_stats.deliver": (
        "queue_messages_delivered_total",
        "Count of messages delivered in acknowledgement mode to consumers.",
    ),
    "message_stats.deliver_no_ack": (
        "queue_messages_delivered_noack_total",
        "Count of messages delivered in no-acknowledgement mode to consumers. ",
    ),
    "message_stats.get": (
        "queue_messages_get_total",
        "Count of messages delivered in acknowledgement mode in response to basic.get.",
    ),
    "message_stats.get_no_ack": (
        "queue_messages_get_noack_total",
        "Count of messages delivered in no-acknowledgement mode in response to basic.get.",
    ),
    "message_stats.redeliver": (
        "queue_messages_redelivered_total",
        "Count of subset of messages in deliver_get which had the redelivered flag set.",
    ),
    "message_stats.return": ("queue_messages_returned_total", "Count of messages returned to publisher as unroutable."),
    "message_stats.ack": (
        "queue_messages_ack_total",
        "Count of messages delivered in acknowledgement mode in response to basic.get.",
    ),
    "reductions": ("queue_reductions_total", "Count of  reductions which take place on this process. ."),
    "garbage_collection.minor_gcs": ("queue_gc_minor_collections_total", "Number of minor GCs"),
}

EXCHANGE_COUNTERS = {
    "message_stats.publish": ("exchange_messages_published_total", "Count of messages published."),
    "message_stats.publish_in": (
        "exchange_messages_published_in_total",
        "Count of messages published in to an exchange, i.e. not taking account of routing.",
    ),
    "message_stats.publish_out": (
        "exchange_messages_published_out_total",
        "Count of messages published out of an exchange, i.e. taking account of routing.",
    ),
    "message_stats.confirm": ("exchange_messages_confirmed_total", "Count of messages confirmed. "),
    "message_stats.deliver": (
        "exchange_messages_delivered_total",
        "Count of messages delivered in acknowledgement mode to consumers.",
    ),
    "message_stats.deliver_no_ack": (
        "exchange_messages_delivered_noack_total",
        "Count of messages delivered in no-acknowledgement mode to consumers. ",
    ),
    "message_stats.get": (
        "exchange_messages_get_total",
        "Count of messages delivered in acknowledgement mode in response to basic.get.",
    ),
    "message_stats.get_no_ack": (
        "exchange_messages_get_noack_total",
        "Count of messages delivered in no-acknowledgement mode in response to basic.get.",
    ),
    "message_stats.ack": (
        "exchange_messages_ack_total",
        "Count of messages delivered in acknowledgement mode in response to basic.get.",
    ),
    "message_stats.redeliver": (
        "exchange_messages_redelivered_total",
        "Count of subset of messages in deliver_get which had the redelivered flag set.",
    ),
    "message_stats.return_unroutable": (
        "exchange_messages_returned_total",
        "Count of messages returned to publisher as unroutable.",
    ),
}

NODE_GAUGES = {
    "uptime": ("uptime", "Uptime in milliseconds"),
    "running": ("running", "number of running nodes"),
    "mem_used": ("node_mem_used", "Memory used in bytes"),
    "mem_limit": ("node_mem_limit", "Point at which the memory alarm will go off"),
    "mem_alarm": ("node_mem_alarm", "Whether the memory alarm has gone off"),
    "disk_free": ("node_disk_free", "Disk free space in bytes."),
    "disk_free_alarm": ("node_disk_free_alarm", "Whether the disk alarm has gone off."),
    "disk_free_limit": ("node_disk_free_limit", "Point at which the disk alarm will go off."),
    "fd_used": ("fd_used", "Used File descriptors"),
    "fd_total": ("fd_available", "File descriptors available"),
    "sockets_used": ("sockets_used", "File descriptors used as sockets."),
    "sockets_total": ("sockets_available", "File descriptors available for use as sockets"),
    "partitions_len": (
        "partitions",
        "Current Number of network partitions. 0 is ok. If the cluster is splitted the value is at least 2",
    ),
}


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ExporterConfig:
    url: str = "http://localhost:15672"
    user: str = "guest"
    password: str = "guest"
    timeout_s: float = 30.0
    modules: tuple[str, ...] = MODULES
    include_queues: str = ".*"
    skip_queues: str = "^$"
    include_vhost: str = ".*"
    skip_vhost: str = "^$"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ExporterConfig:
        def get(name: str, default: str) -> str:
            value = (env.get(name) or "").strip()
            return value or default

        url = get("RABBIT_URL", cls.url).rstrip("/")
        if not url.startswith("http://"):
            raise ValueError(f"RABBIT_URL must start with http:// (got {url!r})")
        modules = tuple(m.strip() for m in get("RABBIT_EXPORTERS", ",".join(MODULES)).split(",") if m.strip())
        config = cls(
            url=url,
            user=get("RABBIT_USER", cls.user),
            password=get("RABBIT_PASSWORD", cls.password),
            timeout_s=float(get("RABBIT_TIMEOUT", str(cls.timeout_s))),
            modules=modules,
            include_queues=get("INCLUDE_QUEUES", cls.include_queues),
            skip_queues=get("SKIP_QUEUES", cls.skip_queues),
            include_vhost=get("INCLUDE_VHOST", cls.include_vhost),
            skip_vhost=get("SKIP_VHOST", cls.skip_vhost),
        )
        for pattern in (config.include_queues, config.skip_queues, config.include_vhost, config.skip_vhost):
            re.compile(pattern)
        return config


# --------------------------------------------------------------------------- the management API as numbers


def flatten(source: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """kbudde's addFields: numbers as they are, booleans 1/0, lists as `<key>_len`, objects as `a.b` keys."""
    out: dict[str, float] = {}
    for key, value in source.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            out[name] = 1.0 if value else 0.0
        elif isinstance(value, int | float):
            out[name] = float(value)
        elif isinstance(value, list):
            out[f"{name}_len"] = float(len(value))
        elif isinstance(value, dict):
            out.update(flatten(value, name + "."))
    return out


def label_text(value: Any) -> str:
    """A label taken from the API: strings as they are, booleans `true`/`false`, anything else empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else ""


def parse_idle_since(text: str) -> float | None:
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if moment.tzinfo is None:  # the management API writes idle_since in UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return None


class ManagementAPI:
    def __init__(self, config: ExporterConfig) -> None:
        self.config = config
        token = base64.b64encode(f"{config.user}:{config.password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}

    def get(self, endpoint: str) -> Any:
        url = f"{self.config.url}/api/{endpoint}"
        try:
            response = http_request("GET", url, headers=self._headers, timeout=self.config.timeout_s)
        except ClientError as exc:
            raise ScrapeError(f"Get {url!r}: {exc}") from exc
        if response.status != 200:
            raise ScrapeError(f"Get {url!r}: HTTP {response.status}")
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise ScrapeError(f"Get {url!r}: invalid JSON: {exc}") from exc


class ScrapeError(Exception):
    pass


@dataclass
class NodeInfo:
    node: str = ""
    cluster: str = ""
    rabbitmq_version: str = ""
    erlang_version: str = ""


@dataclass
class _Families:
    """Metric families built during one scrape, created on first use so HELP/TYPE come once per name."""

    families: dict[str, Metric] = field(default_factory=dict)

    def gauge(self, name: str, doc: str, labels: Sequence[str]) -> GaugeMetricFamily:
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = GaugeMetricFamily(f"rabbitmq_{name}", doc, labels=list(labels))
        assert isinstance(family, GaugeMetricFamily)
        return family

    def counter(self, name: str, doc: str, labels: Sequence[str]) -> CounterMetricFamily:
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = CounterMetricFamily(f"rabbitmq_{name}", doc, labels=list(labels))
        assert isinstance(family, CounterMetricFamily)
        return family


class RabbitCollector(Collector):
    """Asks the management API at scrape time (one scrape at a time, as kbudde's exporter mutex does)."""

    def __init__(self, config: ExporterConfig, log: LineLog) -> None:
        self.config = config
        self.log = log
        self.api = ManagementAPI(config)
        self.info = NodeInfo()
        self.last_ok = True  # kbudde answers /health 200 until the first scrape says otherwise
        self._lock = threading.Lock()
        self._include_queues = re.compile(config.include_queues)
        self._skip_queues = re.compile(config.skip_queues)
        self._include_vhost = re.compile(config.include_vhost)
        self._skip_vhost = re.compile(config.skip_vhost)

    def describe(self) -> Iterable[Metric]:
        return []  # collected at scrape time only (an unchecked collector)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            return iter(self._scrape())

    # ------------------------------------------------------------------ one scrape

    def _scrape(self) -> list[Metric]:
        out = _Families()
        results: list[tuple[str, bool, float]] = []
        ok = self._module(out, results, "overview", self._overview)
        for name in self.config.modules:
            collect = {"exchange": self._exchanges, "node": self._nodes, "queue": self._queues}.get(name)
            if collect is not None:
                ok = self._module(out, results, name, collect) and ok
        self.last_ok = ok
        cluster, node = self.info.cluster, self.info.node
        up = out.gauge("up", "Was the last scrape of rabbitmq successful.", ["cluster", "node"])
        up.add_metric([cluster, node], 1.0 if ok else 0.0)
        module_up = out.gauge(
            "module_up", "Was the last scrape of rabbitmq successful per module.", [*NODE_LABELS[:2], "module"]
        )
        duration = out.gauge(
            "module_scrape_duration_seconds", "Duration of the last scrape in seconds", [*NODE_LABELS[:2], "module"]
        )
        for name, module_ok, seconds in results:
            module_up.add_metric([cluster, node, name], 1.0 if module_ok else 0.0)
            if cluster and node:
                duration.add_metric([cluster, node, name], seconds)
        build = GaugeMetricFamily(
            "rabbitmq_exporter_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch and build date on which the "
            "rabbitmq_exporter was built.",
            labels=["version", "revision", "branch", "builddate"],
        )
        build.add_metric([VERSION, "kubesim", "", ""], 1.0)
        return [*out.families.values(), build]

    def _module(self, out: _Families, results: list[tuple[str, bool, float]], name: str, collect: Any) -> bool:
        started = time.perf_counter()
        try:
            collect(out)
        except ScrapeError as exc:
            self.log.warn(f"retrieving {name} failed: {exc}")
            results.append((name, False, time.perf_counter() - started))
            return False
        results.append((name, True, time.perf_counter() - started))
        return True

    def _self(self, node: Any) -> str:
        return "1" if isinstance(node, str) and node == self.info.node else "0"

    def _overview(self, out: _Families) -> None:
        data = self.api.get("overview")
        if not isinstance(data, dict):
            raise ScrapeError("overview is not a JSON object")
        self.info = NodeInfo(
            node=label_text(data.get("node")),
            cluster=label_text(data.get("cluster_name")),
            rabbitmq_version=label_text(data.get("rabbitmq_version")),
            erlang_version=label_text(data.get("erlang_version")),
        )
        version = out.gauge(
            "version_info",
            "A metric with a constant '1' value labeled by rabbitmq version, erlang version, node, cluster.",
            ["rabbitmq", "erlang", "node", "cluster"],
        )
        info = self.info
        version.add_metric([info.rabbitmq_version, info.erlang_version, info.node, info.cluster], 1.0)
        values = flatten(data)
        for key, (name, doc) in OVERVIEW_GAUGES.items():
            if key in values:
                out.gauge(name, doc, ["cluster"]).add_metric([info.cluster], values[key])

    def _items(self, endpoint: str) -> list[dict[str, Any]]:
        data = self.api.get(endpoint)
        if not isinstance(data, list):
            raise ScrapeError(f"{endpoint} is not a JSON list")
        return [item for item in data if isinstance(item, dict) and ("name" in item or "id" in item)]

    def _queues(self, out: _Families) -> None:
        cluster = self.info.cluster
        for queue in self._items("queues"):
            name, vhost = label_text(queue.get("name")), label_text(queue.get("vhost"))
            if not self._include_vhost.search(vhost) or self._skip_vhost.search(vhost):
                continue
            if not self._include_queues.search(name) or self._skip_queues.search(name):
                continue
            labels = [
                cluster,
                vhost,
                name,
                label_text(queue.get("durable")),
                label_text(queue.get("policy")),
                self._self(queue.get("node")),
            ]
            values = flatten(queue)
            for key, (metric, doc) in QUEUE_GAUGES.items():
                if key in values:
                    out.gauge(metric, doc, QUEUE_LABELS).add_metric(labels, values[key])
            for key, (metric, doc) in QUEUE_COUNTERS.items():
                out.counter(metric, doc, QUEUE_LABELS).add_metric(labels, values.get(key, 0.0))
            for limit, metric, doc in (
                (
                    "max-length",
                    "queue_max_length",
                    "How many (ready) messages a queue can contain before it starts to drop them from its head.",
                ),
                (
                    "max-length-bytes",
                    "queue_max_length_bytes",
                    "Total body size for ready messages a queue can contain before it starts to drop them from its "
                    "head.",
                ),
            ):
                candidates = [
                    values[k] for k in (f"arguments.x-{limit}", f"effective_policy_definition.{limit}") if k in values
                ]
                if candidates:
                    out.gauge(metric, doc, QUEUE_LABELS).add_metric(labels, min(candidates))
            state = label_text(queue.get("state"))
            idle_since = label_text(queue.get("idle_since"))
            if idle_since:
                seconds = parse_idle_since(idle_since)
                if seconds is not None:
                    if state == "running":
                        state = "idle"
                    out.gauge(
                        "queue_idle_since_seconds",
                        "starttime where the queue switched to idle state; in seconds since epoch (1970).",
                        QUEUE_LABELS,
                    ).add_metric(labels, seconds)
            out.gauge(
                "queue_state",
                "A metric with a value of constant '1' if the queue is in a certain state",
                [*QUEUE_LABELS, "state"],
            ).add_metric([*labels, state], 1.0)

    def _exchanges(self, out: _Families) -> None:
        cluster = self.info.cluster
        for exchange in self._items("exchanges"):
            vhost = label_text(exchange.get("vhost"))
            if not self._include_vhost.search(vhost) or self._skip_vhost.search(vhost):
                continue
            labels = [cluster, vhost, label_text(exchange.get("name"))]
            values = flatten(exchange)
            for key, (metric, doc) in EXCHANGE_COUNTERS.items():
                if key in values:
                    out.counter(metric, doc, EXCHANGE_LABELS).add_metric(labels, values[key])

    def _nodes(self, out: _Families) -> None:
        cluster = self.info.cluster
        for node in self._items("nodes"):
            name = label_text(node.get("name"))
            labels = [cluster, name, self._self(name)]
            values = flatten(node)
            for key, (metric, doc) in NODE_GAUGES.items():
                if key in values:
                    out.gauge(metric, doc, NODE_LABELS).add_metric(labels, values[key])


# --------------------------------------------------------------------------- the service


INDEX = b"""<html>
             <head><title>RabbitMQ Exporter</title></head>
             <body>
             <h1>RabbitMQ Exporter</h1>
             <p><a href='/metrics'>Metrics</a></p>
             </body>
             </html>"""


class ExporterService:
    def __init__(self, config: ExporterConfig | None = None, log: LineLog | None = None) -> None:
        self.app = App("rabbitmq-exporter", log)
        self.log = self.app.log
        self.config = config or ExporterConfig()
        self.collector = RabbitCollector(self.config, self.log)
        self.app.registry.register(self.collector)
        ProcessCollector(registry=self.app.registry)
        self.app.add("GET", "/", self.index)
        self.app.add("GET", "/health", self.health)

    def index(self, _request: Request) -> Response:
        return Response(200, raw=INDEX, content_type="text/html; charset=utf-8")

    def health(self, _request: Request) -> Response:
        return Response(200 if self.collector.last_ok else 504, raw=b"", content_type="text/plain; charset=utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = ExporterConfig.from_env(os.environ)
        default_port = int((os.environ.get("PUBLISH_PORT") or "").strip() or DEFAULT_PORT)
    except (ValueError, re.error) as exc:
        print(f"rabbitmq_exporter: invalid configuration: {exc}", flush=True)
        return 2
    publish_addr = (os.environ.get("PUBLISH_ADDR") or "").strip()
    if publish_addr:
        os.environ["BIND_HOST"] = publish_addr
    service = ExporterService(config)

    def started(port: int) -> None:
        service.log.info(
            f"Starting RabbitMQ exporter {VERSION} on port {port} (RABBIT_URL={config.url}, "
            f"RABBIT_USER={config.user}, RABBIT_EXPORTERS={','.join(config.modules)})"
        )

    return serve(service.app, list(sys.argv[1:] if argv is None else argv), default_port, started)
