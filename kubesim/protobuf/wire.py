"""Protobuf wire-format primitives and the shape of the schema tables.

Only what Kubernetes' `application/vnd.kubernetes.protobuf` bodies need: varints, 64/32-bit fixed fields and
length-delimited fields (proto2, no groups).
"""

from __future__ import annotations

from collections.abc import Iterator

# Wire types.
VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5

# Field flags used by the schema tables.
REP = 1  # repeated (a JSON list)
OMIT = 2  # Go field is a non-pointer `omitempty` scalar: a zero value on the wire is left out of JSON
INLINE = 4  # Go field is embedded with `json:",inline"`: its fields merge into the parent object

# Field kinds used by the schema tables:
#   string, bool, int32, int64, uint32, double  scalars
#   bytes       []byte -> base64 string
#   message     nested message (the third item names it)
#   map         map<string, V>; the third item is (value kind, value message or None)
#   time        meta.v1.Time (seconds=1, nanos=2) -> RFC 3339, seconds precision
#   microtime   meta.v1.MicroTime -> RFC 3339 with microseconds
#   duration    meta.v1.Duration (duration=1, nanoseconds) -> Go duration string ("1h0m0s")
#   quantity    resource.Quantity (string=1) -> "100m"
#   intstr      intstr.IntOrString (type=1, intVal=2, strVal=3) -> int or string
#   fieldsv1    meta.v1.FieldsV1 (Raw=1, JSON bytes) -> object
#   rawext      runtime.RawExtension (raw=1, JSON bytes) -> object
#   strlist     a message wrapping `repeated string items = 1` (authentication ExtraValue) -> list
Nested = str | tuple[str, str | None] | None
Field = tuple[str, str, Nested, int]
Schema = dict[int, Field]


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at `pos`; return (value, next position)."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for each field of one message.

    The value is an int for varints and a bytes slice for fixed and length-delimited fields.
    """
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire_type == LEN:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise WireError(f"field {number}: length {size} runs past the end of the message")
            value = buf[pos : pos + size]
            pos += size
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise WireError(f"field {number}: truncated 64-bit value")
            value = buf[pos : pos + 8]
            pos += 8
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise WireError(f"field {number}: truncated 32-bit value")
            value = buf[pos : pos + 4]
            pos += 4
        else:
            raise WireError(f"field {number}: unsupported wire type {wire_type}")
        yield number, wire_type, value


def iter_packed_varints(buf: bytes) -> Iterator[int]:
    """Yield the varints of a packed repeated scalar field."""
    pos = 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos)
        yield value


def to_signed(value: int, bits: int = 64) -> int:
    """Reinterpret a varint as a two's complement integer (int32 and int64 fields)."""
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = (value + (1 << 31)) % (1 << 32) - (1 << 31)
    return value
