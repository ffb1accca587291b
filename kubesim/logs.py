"""Container output store behind `pods/<name>/log`.

One file per container instance: `<root>/<namespace>_<pod>_<uid>/<container>/<restart>.log`, each line
`<RFC3339Nano UTC timestamp> <text>` as the kubelet's CRI log files keep them. The pod runtime (or the
placeholder runtime) appends; the API reads with the kubelet's options.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path


def stamp(now: datetime | None = None) -> str:
    """Kubernetes' RFC3339Nano timestamp: 2026-11-23T18:40:00.123456789Z."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _parse_stamp(text: str) -> datetime:
    return datetime.strptime(text[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


class LogStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def container_dir(self, ns: str, pod: str, uid: str, container: str) -> Path:
        return self.root / f"{ns}_{pod}_{uid}" / container

    def path(self, ns: str, pod: str, uid: str, container: str, restart: int) -> Path:
        return self.container_dir(ns, pod, uid, container) / f"{restart}.log"

    def append(self, ns: str, pod: str, uid: str, container: str, *, restart: int, text: str) -> None:
        path = self.path(ns, pod, uid, container, restart)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for line in text.splitlines() or [""]:
                fh.write(f"{stamp()} {line}\n")

    def remove_pod(self, ns: str, pod: str, uid: str) -> None:
        base = self.root / f"{ns}_{pod}_{uid}"
        if base.is_dir():
            for f in sorted(base.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
            base.rmdir()

    def read(
        self,
        path: Path,
        *,
        timestamps: bool = False,
        tail: int | None = None,
        since: datetime | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        if not path.exists():
            return ""
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return self.render(lines, timestamps=timestamps, tail=tail, since=since, limit_bytes=limit_bytes)

    @staticmethod
    def render(
        lines: list[str],
        *,
        timestamps: bool,
        tail: int | None = None,
        since: datetime | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        if since is not None:
            lines = [ln for ln in lines if _parse_stamp(ln) >= since]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        out = "".join((ln if timestamps else ln.partition(" ")[2]) + "\n" for ln in lines)
        if limit_bytes is not None:
            out = out.encode()[:limit_bytes].decode(errors="ignore")
        return out

    async def follow(
        self, path: Path, *, timestamps: bool, tail: int | None, since: datetime | None, alive: object
    ) -> AsyncIterator[str]:
        """Existing lines (per options), then new ones as they are written, until `alive()` is false."""
        offset = 0
        if path.exists():
            data = path.read_text(encoding="utf-8", errors="replace")
            offset = len(data.encode())
            yield self.render(data.splitlines(), timestamps=timestamps, tail=tail, since=since)
        pending = ""
        while callable(alive) and alive():
            await asyncio.sleep(0.1)
            if not path.exists():
                continue
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
            if not chunk:
                continue
            offset += len(chunk)
            pending += chunk.decode("utf-8", errors="replace")
            *complete, pending = pending.split("\n")
            if complete:
                yield self.render(complete, timestamps=timestamps)


def since_from_seconds(seconds: int) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
