"""Shared helpers for the server-side Table printers: durations, timestamps, labels, columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = Mapping[str, Any]
Cells = list[Any]
RowFn = Callable[[Obj, datetime], Cells]

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended for "
    "creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It "
    "is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CONTAINERS_DOC = "Names of each container in the template."
IMAGES_DOC = "Images referenced by each container in the template."
SELECTOR_DOC = "A label query over pods that should match the replica count. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"


@dataclass(frozen=True)
class Printer:
    """Column definitions plus the function that turns one object into its row cells."""

    columns: list[dict[str, Any]]
    row: RowFn
    conditions: Callable[[Obj], list[dict[str, Any]] | None] | None = None


def col(name: str, description: str = "", *, type_: str = "string", fmt: str = "", priority: int = 0) -> dict[str, Any]:
    """One metav1.TableColumnDefinition, with every field present as the apiserver serialises it."""
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def name_col() -> dict[str, Any]:
    return col("Name", NAME_DOC, fmt="name")


def age_col() -> dict[str, Any]:
    return col("Age", CREATED_DOC)


def human_duration(delta: timedelta) -> str:
    """Kubernetes' duration.HumanDuration: about 2-3 significant figures of a duration."""
    micros = delta // timedelta(microseconds=1)
    # Go converts with int(d.Seconds()), which truncates toward zero.
    seconds = abs(micros) // 1_000_000 * (1 if micros >= 0 else -1)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    """An RFC3339 (or MicroTime) timestamp as an aware datetime; None when unset or unparsable."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_utc(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    """translateTimestampSince: "<unknown>" for a zero timestamp, else the human age."""
    stamp = parse_time(value)
    if stamp is None:
        return "<unknown>"
    return human_duration(as_utc(now) - stamp)


def age(obj: Obj, now: datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


def meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def name(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]...; None as soon as a step is missing."""
    cur = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def int_of(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """labels.FormatLabels: sorted k=v joined by commas, "<none>" when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """metav1.LabelSelectorAsSelector(selector).String(): requirements sorted by key, "" when empty."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key = str(expr.get("key", ""))
        op = expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector: the selector string, "<none>" when it selects by nothing."""
    return selector_string(selector) or "<none>"


def container_cells(pod_spec: Mapping[str, Any] | None) -> tuple[str, str]:
    """layoutContainerCells: container names and images, each comma-joined in spec order."""
    containers = (pod_spec or {}).get("containers") or []
    return ",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers)


def template_spec(obj: Obj) -> Mapping[str, Any]:
    return dig(obj, "spec", "template", "spec") or {}


def replicas(obj: Obj) -> int:
    """spec.replicas as the apiserver defaults it (1 when omitted)."""
    return int_of(spec(obj).get("replicas"), 1)


def condition_true(conditions: Any, ctype: str) -> bool:
    """True when the first condition of this type has status True."""
    for cond in conditions or []:
        if cond.get("type") == ctype:
            return bool(cond.get("status") == "True")
    return False


def bool_ptr(value: Any) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def quantity(value: Any) -> str:
    return "" if value is None else str(value)
