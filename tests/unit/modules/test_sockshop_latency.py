"""service_latency: the proxy's objects, the plan's two steps, and the proxy itself holding a connection."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import sockshop_latency as latency

from plugins.modules import incident_load

ROOT = Path(__file__).resolve().parents[3]
FILES = ROOT / "roles/incident/files"
FAULT = {"type": "service_latency", "service": "stripe-mock", "selector": {"name": "stripe-mock"}, "target_port": 12111}


def test_manifests_put_a_proxy_in_front_of_the_original_pods() -> None:
    configmap, upstream, proxy = latency.manifests(
        dict(FAULT, delay_s=40), namespace="sock-shop", incident_id="6B", source="print('x')"
    )
    assert (configmap["kind"], configmap["metadata"]["name"]) == ("ConfigMap", "stripe-mock-latency-proxy")
    assert configmap["data"] == {"latency_proxy.py": "print('x')"}
    assert upstream["metadata"]["name"] == "stripe-mock-upstream"
    assert upstream["spec"]["selector"] == {"name": "stripe-mock"}
    assert upstream["spec"]["ports"] == [{"name": "proxied", "port": 12111, "targetPort": 12111, "protocol": "TCP"}]
    container = proxy["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python3", "/proxy/latency_proxy.py"]
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "LISTEN_PORT": "12111",
        "UPSTREAM_HOST": "stripe-mock-upstream",
        "UPSTREAM_PORT": "12111",
        "DELAY_S": "40",
    }
    assert proxy["spec"]["template"]["metadata"]["labels"]["sockshop.io/latency-proxy"] == "stripe-mock"
    assert all(o["metadata"]["labels"]["sockshop.io/incident"] == "6B" for o in (configmap, upstream, proxy))


def test_an_empty_source_is_refused() -> None:
    with pytest.raises(ValueError, match="latency proxy's source is empty"):
        latency.manifests(dict(FAULT, delay_s=1), namespace="n", incident_id="6B", source=" ")


def test_the_plan_creates_the_proxy_then_moves_the_selector_and_ledgers_both() -> None:
    plan = incident_load.load_incident(str(ROOT / "incidents"), "6B", files_dir=str(FILES))["plan"]
    put, patch = plan["faults"]
    assert (put["step"], put["type"], [o["kind"] for o in put["objects"]]) == (
        0,
        "put",
        ["ConfigMap", "Service", "Deployment"],
    )
    assert put["objects"][0]["data"]["latency_proxy.py"] == (FILES / "latency_proxy.py").read_text()
    assert patch == {
        "step": 1,
        "type": "patch",
        "object": {"api_version": "v1", "kind": "Service", "name": "stripe-mock"},
        "set": [{"path": "/spec/selector", "value": {"sockshop.io/latency-proxy": "stripe-mock"}}],
    }
    assert plan["ledger_objects"][-1] == {
        "api_version": "v1", "kind": "Service", "name": "stripe-mock", "step": 1, "fields": ["/spec/selector"]
    }  # fmt: skip
    assert [(e["name"], e["step"], e.get("whole")) for e in plan["ledger_objects"][:3]] == [
        ("stripe-mock-latency-proxy", 0, True),
        ("stripe-mock-upstream", 0, True),
        ("stripe-mock-latency-proxy", 0, True),
    ]


def test_without_the_files_dir_the_plan_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(incident_load.CatalogError, match=r"needs the proxy's script, latency_proxy.py.*cannot read"):
        incident_load.load_incident(str(ROOT / "incidents"), "6B", files_dir=str(tmp_path))


def proxy_module() -> Any:
    spec = importlib.util.spec_from_file_location("latency_proxy", FILES / "latency_proxy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_proxy_holds_each_connection_then_forwards_both_ways() -> None:
    proxy = proxy_module()

    async def scenario() -> tuple[bytes, float]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"echo:" + await reader.read(100))
            await writer.drain()
            writer.close()

        upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
        up_port = upstream.sockets[0].getsockname()[1]
        server = await asyncio.start_server(
            lambda r, w: proxy.handle(r, w, ("127.0.0.1", up_port), 0.3), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(100), 5)
        took = time.monotonic() - started
        writer.close()
        server.close()
        upstream.close()
        return answer, took

    answer, took = asyncio.run(scenario())
    assert answer == b"echo:hello"
    assert 0.3 <= took < 1.5


def test_the_proxy_closes_the_client_when_the_upstream_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    proxy = proxy_module()

    async def scenario() -> bytes:
        server = await asyncio.start_server(lambda r, w: proxy.handle(r, w, ("127.0.0.1", 1), 0), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = await asyncio.wait_for(reader.read(100), 5)
        writer.close()
        server.close()
        return data

    assert asyncio.run(scenario()) == b""
    assert "upstream 127.0.0.1:1 refused" in capsys.readouterr().err
