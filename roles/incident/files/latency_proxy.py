"""A TCP proxy that holds every new connection for a while before it reaches its upstream: latency in front of a
dependency, for the `service_latency` fault.

It runs in the official Python image (`python3 /proxy/latency_proxy.py`, the file mounted from a ConfigMap), on
a real cluster as on the local one, with nothing but the standard library. Settings come from the environment:
LISTEN_PORT, UPSTREAM_HOST, UPSTREAM_PORT, DELAY_S. Each accepted connection waits DELAY_S, then is connected to
the upstream and both directions are copied until either side closes. A client with a shorter timeout gives up
first, as it would against a dependency that hangs. Toxiproxy does this and more, but needs its own image and an
API call to configure; this is the one behaviour the fault needs, in a file the fault ships.
"""

from __future__ import annotations

import asyncio
import os
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream: tuple[str, int],
    delay_s: float,
) -> None:
    await asyncio.sleep(delay_s)
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*upstream)
    except OSError as exc:
        print(f"upstream {upstream[0]}:{upstream[1]} refused: {exc}", file=sys.stderr, flush=True)
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))


async def serve(listen_port: int, upstream: tuple[str, int], delay_s: float) -> None:
    server = await asyncio.start_server(lambda r, w: handle(r, w, upstream, delay_s), host="0.0.0.0", port=listen_port)
    print(
        f"latency proxy on :{listen_port} -> {upstream[0]}:{upstream[1]}, {delay_s:g} s per new connection",
        flush=True,
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    env = os.environ
    upstream = (env["UPSTREAM_HOST"], int(env["UPSTREAM_PORT"]))
    asyncio.run(serve(int(env["LISTEN_PORT"]), upstream, float(env["DELAY_S"])))


if __name__ == "__main__":
    main()
