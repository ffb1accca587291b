"""Small stdlib helpers shared by the stand-in services: time, ids, JSON with exact decimals, logging, state."""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

# --------------------------------------------------------------------------- time and ids


def utc_now_ms() -> str:
    """`2026-11-23T08:24:46.123Z`: UTC, millisecond precision."""
    return iso_ms(datetime.now(UTC))


def iso_ms(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_counter_lock = threading.Lock()
_counter = secrets.randbelow(1 << 24)
_process_random = secrets.token_bytes(5)


def object_id() -> str:
    """A 24-hex id shaped like a MongoDB ObjectId (seconds, 5 random bytes, counter)."""
    global _counter  # noqa: PLW0603 - process-wide counter, as ObjectId defines it
    with _counter_lock:
        _counter = (_counter + 1) % (1 << 24)
        count = _counter
    return (int(time.time()).to_bytes(4, "big") + _process_random + count.to_bytes(3, "big")).hex()


# --------------------------------------------------------------------------- JSON with exact decimals


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping non-integral numbers as Decimal built from their text; NaN/Infinity rejected."""

    def _reject(name: str) -> Any:
        raise ValueError(f"invalid JSON constant {name}")

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_float=Decimal, parse_constant=_reject)


def dumps(value: Any) -> str:
    """Serialise JSON writing Decimals as their exact text (`104.97`, `100.00`)."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        text = format(value, "f")
        out.append(text)
    elif value is None or isinstance(value, bool | int | float | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(", ")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(": ")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


# --------------------------------------------------------------------------- logging


class LineLog:
    """`<UTC timestamp> <LEVEL> <message>`, one UTF-8 line per event, flushed at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _write(self, level: str, message: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            stream.write(f"{utc_now_ms()} {level:<5} {message}\n")
            stream.flush()

    def info(self, message: str) -> None:
        self._write("INFO", message)

    def warn(self, message: str) -> None:
        self._write("WARN", message)

    def error(self, message: str) -> None:
        self._write("ERROR", message)


# --------------------------------------------------------------------------- persisted state


class StateFile:
    """Optional JSON persistence: nothing happens when no path is given; writes are atomic."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None

    def load(self) -> Any:
        if self.path is None or not self.path.exists():
            return None
        return loads(self.path.read_text(encoding="utf-8"))

    def save(self, data: Any) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(dumps(data))
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
