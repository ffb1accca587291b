"""Decode Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into their JSON form.

kubectl's typed clients (create namespace/deployment/secret/..., run, expose, scale, create token, drain...)
send built-in kinds as protobuf with no JSON fallback. The body is Kubernetes' envelope: the magic prefix
`k8s\\x00`, then a `runtime.Unknown` message

    typeMeta = 1 (apiVersion = 1, kind = 2), raw = 2, contentEncoding = 3, contentType = 4

whose `raw` is the message of the kind named by typeMeta. `decode` turns it into the object the JSON API
would accept, following Kubernetes' JSON mapping: the proto field names are the JSON names, absent fields
stay absent, pointer fields keep present zero values (`replicas: 0`), non-pointer `omitempty` scalars drop
theirs like Go's encoder, inline-embedded structs (`Volume.volumeSource`, `Probe.handler`...) merge into
their parent, and the special types (Time, MicroTime, Duration, Quantity, IntOrString, FieldsV1,
RawExtension, []byte) get their JSON spelling. Unknown field numbers are skipped, so newer clients work.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime
from typing import Any

from kubesim.protobuf.kinds import KINDS
from kubesim.protobuf.schema_cluster import MESSAGES as _CLUSTER
from kubesim.protobuf.schema_core import MESSAGES as _CORE
from kubesim.protobuf.schema_meta import MESSAGES as _META
from kubesim.protobuf.schema_workloads import MESSAGES as _WORKLOADS
from kubesim.protobuf.wire import (
    FIXED32,
    FIXED64,
    INLINE,
    LEN,
    OMIT,
    REP,
    VARINT,
    Nested,
    Schema,
    WireError,
    iter_fields,
    iter_packed_varints,
    to_signed,
)

__all__ = ["MAGIC", "MEDIA_TYPE", "ProtobufError", "decode", "is_protobuf"]

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

MESSAGES: dict[str, Schema] = {**_META, **_CORE, **_WORKLOADS, **_CLUSTER}

_VARINT_KINDS = frozenset({"bool", "int32", "int64", "uint32"})
_MAP_ZERO: dict[str, Any] = {"string": "", "bytes": "", "quantity": "0", "intstr": 0}


class ProtobufError(ValueError):
    """The body cannot be decoded; the message is suitable for a 400/415 Status."""


def is_protobuf(content_type: str) -> bool:
    """True when a Content-Type names Kubernetes' protobuf encoding (parameters ignored)."""
    return content_type.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def decode(body: bytes) -> dict[str, Any]:
    """Decode an enveloped protobuf body into the object's JSON form (apiVersion, kind, metadata, spec...)."""
    if not body.startswith(MAGIC):
        raise ProtobufError(f"protobuf body does not start with the Kubernetes magic prefix {MAGIC!r}")
    try:
        api_version, kind, raw, encoding = _decode_envelope(bytes(body[len(MAGIC) :]))
        if encoding:
            raise ProtobufError(f"protobuf body uses contentEncoding {encoding!r}, which is not supported")
        if not kind:
            raise ProtobufError("protobuf body has no kind in its type metadata")
        message = _message_for(api_version, kind)
        if message is None:
            raise ProtobufError(
                f"protobuf body of kind {kind} ({api_version or 'no apiVersion'}) is not supported by the embedded "
                "cluster; send JSON (e.g. kubectl apply, or -o json | kubectl create -f -)"
            )
        obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
        obj.update(_decode_message(raw, message))
    except WireError as exc:
        raise ProtobufError(f"malformed protobuf body: {exc}") from None
    except RecursionError:
        raise ProtobufError("malformed protobuf body: nested too deeply") from None
    if obj.get("status") == {}:
        del obj["status"]
    return obj


def _message_for(api_version: str, kind: str) -> str | None:
    if kind == "DeleteOptions":  # registered in every group version
        return "meta.v1.DeleteOptions"
    return KINDS.get((api_version, kind))


def _decode_envelope(buf: bytes) -> tuple[str, str, bytes, str]:
    api_version = kind = encoding = ""
    raw = b""
    for number, wire_type, value in iter_fields(buf):
        if number == 1 and wire_type == LEN:
            assert isinstance(value, bytes)
            for sub_number, sub_type, sub_value in iter_fields(value):
                if sub_type != LEN:
                    continue
                assert isinstance(sub_value, bytes)
                if sub_number == 1:
                    api_version = _text(sub_value)
                elif sub_number == 2:
                    kind = _text(sub_value)
        elif number == 2 and wire_type == LEN:
            assert isinstance(value, bytes)
            raw = value
        elif number == 3 and wire_type == LEN:
            assert isinstance(value, bytes)
            encoding = _text(value)
    return api_version, kind, raw, encoding


def _decode_message(buf: bytes, name: str) -> dict[str, Any]:
    schema = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire_type, value in iter_fields(buf):
        field = schema.get(number)
        if field is None:
            continue  # unknown (newer) field
        json_name, kind, nested, flags = field
        where = f"{name}.{json_name or number}"
        if flags & INLINE:
            out.update(_decode_message(_need_len(value, wire_type, where), _message_name(nested)))
        elif kind == "map":
            key, item = _decode_map_entry(_need_len(value, wire_type, where), nested, where)
            out.setdefault(json_name, {})[key] = item
        elif flags & REP:
            items = out.setdefault(json_name, [])
            if wire_type == LEN and kind in _VARINT_KINDS:
                assert isinstance(value, bytes)
                items.extend(_scalar(kind, v) for v in iter_packed_varints(value))
            elif wire_type == LEN and kind == "double" and isinstance(value, bytes):
                if len(value) % 8:
                    raise WireError(f"{where}: packed doubles of length {len(value)}")
                items.extend(x for (x,) in struct.iter_unpack("<d", value))
            else:
                items.append(_decode_value(kind, nested, wire_type, value, where))
        else:
            item = _decode_value(kind, nested, wire_type, value, where)
            if item is None or (flags & OMIT and _is_zero(item)):
                out.pop(json_name, None)
                continue
            previous = out.get(json_name)
            if isinstance(previous, dict) and isinstance(item, dict) and kind == "message":
                previous.update(item)  # a repeated occurrence of a message field merges into the first
            else:
                out[json_name] = item
    return out


def _decode_value(kind: str, nested: Nested, wire_type: int, value: int | bytes, where: str) -> Any:
    if kind in _VARINT_KINDS:
        if wire_type != VARINT or not isinstance(value, int):
            raise WireError(f"{where}: expected a varint, got wire type {wire_type}")
        return _scalar(kind, value)
    if kind == "double":
        if wire_type == FIXED64 and isinstance(value, bytes):
            return struct.unpack("<d", value)[0]
        if wire_type == FIXED32 and isinstance(value, bytes):
            return struct.unpack("<f", value)[0]
        raise WireError(f"{where}: expected a 64-bit value, got wire type {wire_type}")
    data = _need_len(value, wire_type, where)
    if kind == "string":
        return _text(data)
    if kind == "bytes":
        return base64.b64encode(data).decode("ascii")
    if kind == "message":
        return _decode_message(data, _message_name(nested))
    if kind == "time":
        return _decode_time(data, micro=False, where=where)
    if kind == "microtime":
        return _decode_time(data, micro=True, where=where)
    if kind == "duration":
        nanos = 0
        for number, sub_type, sub_value in iter_fields(data):
            if number == 1 and sub_type == VARINT and isinstance(sub_value, int):
                nanos = to_signed(sub_value)
        return go_duration(nanos)
    if kind == "quantity":
        text = "0"
        for number, sub_type, sub_value in iter_fields(data):
            if number == 1 and sub_type == LEN and isinstance(sub_value, bytes):
                text = _text(sub_value)
        return text
    if kind == "intstr":
        return _decode_intstr(data)
    if kind in ("fieldsv1", "rawext"):
        return _decode_raw_json(data, where)
    if kind == "strlist":
        return [_text(v) for n, t, v in iter_fields(data) if n == 1 and t == LEN and isinstance(v, bytes)]
    raise WireError(f"{where}: schema kind {kind!r} is unknown")  # pragma: no cover - schema tables are generated


def _decode_map_entry(data: bytes, nested: Nested, where: str) -> tuple[str, Any]:
    if not isinstance(nested, tuple):  # pragma: no cover - schema tables are generated
        raise WireError(f"{where}: map without a value type")
    value_kind, value_message = nested
    key = ""
    item: Any = None
    for number, wire_type, value in iter_fields(data):
        if number == 1:
            key = _text(_need_len(value, wire_type, where + " (map key)"))
        elif number == 2:
            item = _decode_value(value_kind, value_message, wire_type, value, f"{where}[{key}]")
    if item is None:
        item = {} if value_kind == "message" else [] if value_kind == "strlist" else _MAP_ZERO.get(value_kind)
    return key, item


def _decode_time(data: bytes, *, micro: bool, where: str) -> str | None:
    seconds = nanos = 0
    for number, wire_type, value in iter_fields(data):
        if wire_type != VARINT or not isinstance(value, int):
            continue
        if number == 1:
            seconds = to_signed(value)
        elif number == 2:
            nanos = to_signed(value, 32)
    if seconds == 0 and nanos == 0:
        return None  # Go's zero Time marshals as null
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise WireError(f"{where}: time {seconds}s is out of range") from None
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode_intstr(data: bytes) -> int | str:
    int_type = 0
    int_val = 0
    str_val = ""
    for number, _, value in iter_fields(data):
        if number == 1 and isinstance(value, int):
            int_type = value
        elif number == 2 and isinstance(value, int):
            int_val = to_signed(value, 32)
        elif number == 3 and isinstance(value, bytes):
            str_val = _text(value)
    return str_val if int_type == 1 else int_val


def _decode_raw_json(data: bytes, where: str) -> Any:
    raw = b""
    for number, wire_type, value in iter_fields(data):
        if number == 1 and wire_type == LEN and isinstance(value, bytes):
            raw = value
    if not raw:
        return None
    if raw.startswith(MAGIC):  # an embedded object in protobuf
        try:
            return decode(raw)
        except ProtobufError as exc:
            raise WireError(f"{where}: {exc}") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise WireError(f"{where}: raw bytes are not JSON") from None


def go_duration(nanos: int) -> str:
    """Format nanoseconds like Go's time.Duration.String ("1h0m0s", "1.5s", "300ms", "0s")."""
    negative = nanos < 0
    left = -nanos if negative else nanos
    if left == 0:
        return "0s"
    if left < 1_000_000_000:
        if left < 1_000:
            text = f"{left}ns"
        elif left < 1_000_000:
            text = _with_fraction(left, 3) + "µs"
        else:
            text = _with_fraction(left, 6) + "ms"
    else:
        seconds = left // 1_000_000_000
        text = _with_fraction(left % 60_000_000_000, 9) + "s"
        minutes = seconds // 60
        if minutes:
            text = f"{minutes % 60}m{text}"
            if minutes // 60:
                text = f"{minutes // 60}h{text}"
    return "-" + text if negative else text


def _with_fraction(value: int, precision: int) -> str:
    whole, fraction = divmod(value, 10**precision)
    digits = f"{fraction:0{precision}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def _scalar(kind: str, value: int) -> bool | int:
    if kind == "bool":
        return value != 0
    if kind == "int32":
        return to_signed(value, 32)
    if kind == "int64":
        return to_signed(value)
    return value & 0xFFFFFFFF


def _is_zero(value: Any) -> bool:
    return value is False or value == "" or (type(value) in (int, float) and value == 0)


def _need_len(value: int | bytes, wire_type: int, where: str) -> bytes:
    if wire_type != LEN or not isinstance(value, bytes):
        raise WireError(f"{where}: expected a length-delimited field, got wire type {wire_type}")
    return value


def _message_name(nested: Nested) -> str:
    if not isinstance(nested, str):  # pragma: no cover - schema tables are generated
        raise WireError(f"schema names no message type ({nested!r})")
    return nested


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
