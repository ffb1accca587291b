"""Resource quantities and measured container usage: what the kubelet reads from cgroups and hands on to
the metrics API, the HPA controller and `/metrics`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def quantity(value: Any) -> Decimal:
    """A Kubernetes resource.Quantity ("100m", "1.5", "64Mi", 2) as an exact number of base units."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY.pattern}': {text!r}")
    return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]


def millicores(value: Any) -> int:
    """CPU quantity in millicores, rounded up as the kubelet does ("0.1" -> 100, "1" -> 1000)."""
    return int((quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def bytes_of(value: Any) -> int:
    """Memory quantity in bytes ("64Mi" -> 67108864, "1G" -> 10**9)."""
    return int(quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def format_cpu(cores: float) -> str:
    """How metrics-server writes CPU usage: nanocores ("12345678n")."""
    return f"{max(0, round(cores * 1e9))}n"


def format_memory(nbytes: int) -> str:
    """How metrics-server writes memory usage: kibibytes ("10240Ki")."""
    return f"{max(0, nbytes) // 1024}Ki"


@dataclass(frozen=True)
class Limits:
    """A container's resources as the kubelet enforces them (None: not set)."""

    cpu_limit_m: int | None = None
    cpu_request_m: int | None = None
    memory_limit: int | None = None
    memory_request: int | None = None

    @classmethod
    def of(cls, container: dict[str, Any]) -> Limits:
        res = container.get("resources") or {}
        lim, req = res.get("limits") or {}, res.get("requests") or {}
        # As the apiserver defaults it: a limit without a request requests the limit.
        cpu_l = millicores(lim["cpu"]) if "cpu" in lim else None
        mem_l = bytes_of(lim["memory"]) if "memory" in lim else None
        return cls(
            cpu_limit_m=cpu_l,
            cpu_request_m=millicores(req["cpu"]) if "cpu" in req else cpu_l,
            memory_limit=mem_l,
            memory_request=bytes_of(req["memory"]) if "memory" in req else mem_l,
        )


@dataclass(frozen=True)
class ContainerUsage:
    """One measured container, as cAdvisor and metrics-server see it."""

    namespace: str
    pod: str
    uid: str
    container: str
    node: str
    image: str
    cgroup: str  # the cgroup path (cAdvisor's `id` label)
    timestamp: float  # UNIX time of the sample
    window_s: float  # the window the CPU rate is measured over
    cpu_seconds_total: float  # cumulative CPU time
    cpu_cores: float  # rate over the window
    memory_working_set_bytes: int  # usage minus inactive file cache
    memory_rss_bytes: int
    cfs_periods_total: int
    cfs_throttled_periods_total: int
    cfs_throttled_seconds_total: float
    oom_kills: int


class UsageSource(Protocol):
    """What the cluster knows about its containers' usage (the kubelet's summary API)."""

    def containers(self) -> list[ContainerUsage]:
        """Every measured container of every running pod (placeholder containers are not measured)."""
