"""incident_load: the catalog loads, validates against the schema and refuses bad input clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from plugins.modules import incident_load

CATALOG = Path(__file__).resolve().parents[3] / "incidents"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    shutil.copy(CATALOG / "schema.json", tmp_path / "schema.json")
    for source in CATALOG.glob("incident-*.yml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def rewrite(catalog: Path, incident_id: str, change) -> None:
    path = catalog / f"incident-{incident_id}.yml"
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc))


IDS = ["2", "3", "4", "4B", "4C", "5", "5A", "5C", "6", "6B", "7", "8", "8B", "8C"]


@pytest.mark.parametrize("incident_id", IDS)
def test_every_committed_incident_is_valid(incident_id: str) -> None:
    loaded = incident_load.load_incident(
        str(CATALOG), incident_id, files_dir=str(CATALOG.parent / "roles/incident/files")
    )
    assert loaded["incident"]["id"] == incident_id
    assert loaded["known_ids"] == IDS


def test_plan_for_incident_6() -> None:
    plan = incident_load.load_incident(str(CATALOG), "6")["plan"]
    assert plan["namespace"] == "sock-shop"
    assert plan["ledger_objects"] == [
        {"api_version": "apps/v1", "kind": "Deployment", "name": "stripe-mock", "step": 0, "fields": ["/spec/replicas"]}
    ]
    assert plan["restart_watch"] == ["payment"]
    assert [s["name"] for s in plan["probe_signals"]] == ["payments declined with connection refused"]
    assert all(s["kind"] != "probe" for s in plan["cluster_signals"])
    assert [s["name"] for s in plan["confirm_probes"]] == ["payments authorised again"]


def test_plan_for_incident_5_confirms_the_recovery_in_the_cluster() -> None:
    plan = incident_load.load_incident(str(CATALOG), "5")["plan"]
    assert plan["ledger_objects"] == [
        {
            "api_version": "apps/v1",
            "kind": "Deployment",
            "name": "queue-master",
            "step": 0,
            "fields": ["/spec/replicas"],
        }
    ]
    assert plan["restart_watch"] == ["rabbitmq", "shipping"]
    assert plan["probe_signals"] == [] and plan["confirm_probes"] == [] and plan["test_order"] is None
    assert [(s["kind"], s["name"]) for s in plan["confirm_cluster"]] == [
        ("pod_log", "queue-master consumes the backlog"),
        ("queue", "shipping-task drains with a consumer back"),
    ]
    assert incident_load.load_incident(str(CATALOG), "6")["plan"]["confirm_cluster"] == []


def test_namespace_override() -> None:
    assert incident_load.load_incident(str(CATALOG), "6", "shop-2")["plan"]["namespace"] == "shop-2"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(bogus=1), "unknown field 'bogus' at (top level)"),
        (lambda d: d["signals"][2]["check"].update(restart=0), "unknown field 'restart' at signals[2].check"),
        (
            lambda d: d["faults"][0].update(type="set_env"),
            "unknown fault type 'set_env' at faults[0].type "
            "(implemented: scale_to_zero, patch, set_resources, load, service_latency, hpa, rabbitmq_policy, gate)",
        ),
        (lambda d: d["signals"][0].update(kind="smoke"), "signals[0].kind: 'smoke' is not one of"),
        (
            lambda d: d["signals"][0].update(within_s=0),
            "signals[0].within_s: 0 is less than or equal to the minimum of 0",
        ),
        (lambda d: d["checklist"][0]["signals"].append("nope"), "names unknown signal 'nope'"),
        (lambda d: d["signals"][5]["check"].update(query="missing"), "names unknown promql query 'missing'"),
        (lambda d: d["signals"][1].update(name=d["signals"][0]["name"]), "is used twice"),
        (lambda d: d.update(id="7"), "the file says '7', its name says '6'"),
        (lambda d: d.pop("ground_truth"), "'ground_truth' is a required property"),
    ],
)
def test_bad_incident_is_refused_with_its_path(catalog: Path, change, expected: str) -> None:
    rewrite(catalog, "6", change)
    with pytest.raises(incident_load.CatalogError) as error:
        incident_load.load_incident(str(catalog), "6")
    assert expected in str(error.value)
    assert "Nothing was changed" in str(error.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.pop("definition"), "faults[2]: 'definition' is a required property"),
        (lambda f: f.update(definition={}), "faults[2].definition: {} should be non-empty"),
        (lambda f: f.update(name="a/b"), "faults[2].name: 'a/b' does not match"),
        (lambda f: f.update(apply_to="streams"), "faults[2].apply_to: 'streams' is not one of"),
        (lambda f: f.update(user="admin"), "unknown field 'user' at faults[2]"),
    ],
)
def test_a_bad_rabbitmq_policy_is_refused_before_anything_is_written(catalog: Path, change, expected: str) -> None:
    rewrite(catalog, "5C", lambda doc: change(doc["faults"][2]))
    with pytest.raises(incident_load.CatalogError) as error:
        incident_load.load_incident(str(catalog), "5C")
    assert expected in str(error.value) and "Nothing was changed" in str(error.value)


def test_unknown_id_lists_the_known_ones(catalog: Path) -> None:
    known = "2, 3, 4, 4B, 4C, 5, 5A, 5C, 6, 6B, 7, 8, 8B, 8C"
    with pytest.raises(incident_load.CatalogError, match=rf"unknown incident id '42'; known ids: {known}"):
        incident_load.load_incident(str(catalog), "42")


def test_unparsable_file(catalog: Path) -> None:
    (catalog / "incident-6.yml").write_text('id: "6"\nfault: [unclosed\ntarget: x\n')
    with pytest.raises(incident_load.CatalogError) as error:
        incident_load.load_incident(str(catalog), "6")
    assert str(error.value) == (
        f"{catalog / 'incident-6.yml'} is not valid YAML (line 3, column 7: expected ',' or ']', but got ':'). "
        "Nothing was changed."
    )


def test_missing_catalog(tmp_path: Path) -> None:
    with pytest.raises(incident_load.CatalogError, match="cannot read the incident catalog"):
        incident_load.load_incident(str(tmp_path / "nowhere"), "6")


def test_known_ids_order(tmp_path: Path) -> None:
    for name in ("incident-10.yml", "incident-4B.yml", "incident-4.yml", "incident-3.yml", "notes.yml"):
        (tmp_path / name).write_text("")
    assert incident_load.known_ids(str(tmp_path)) == ["3", "4", "4B", "10"]


def test_loading_twice_gives_the_same_answer() -> None:
    assert incident_load.load_incident(str(CATALOG), "6") == incident_load.load_incident(str(CATALOG), "6")


def test_plan_cuts_the_faults_at_each_gate() -> None:
    plan = incident_load.load_incident(str(CATALOG), "5")["plan"]
    assert [([f["type"] for f in s["faults"]], s["gate"] and s["gate"]["name"]) for s in plan["segments"]] == [
        ([], "shipping-task has its consumer before the fault"),
        (["scale_to_zero"], "shipping-task has lost its consumer"),
    ]
    assert [f["step"] for f in plan["faults"]] == [0]  # a gate is no step of its own and ledgers nothing
    assert incident_load.load_incident(str(CATALOG), "6")["plan"]["segments"] == [
        {"faults": incident_load.load_incident(str(CATALOG), "6")["plan"]["faults"], "gate": None}
    ]


def test_plan_of_an_hpa_fault_ledgers_the_hpa_then_its_targets_replicas() -> None:
    """The restore walks a step's entries in this order: the HPA goes before the replicas it changed are put back."""
    plan = incident_load.load_incident(str(CATALOG), "7", users_factor=1.0)["plan"]
    (put, load) = plan["faults"]
    assert [b["kind"] for b in put["objects"]] == ["HorizontalPodAutoscaler"] and load["step"] == 1
    assert put["objects"][0]["spec"]["metrics"][0]["resource"]["name"] == "memory"
    assert [e for e in plan["ledger_objects"] if e["step"] == 0] == [
        {"api_version": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "front-end-hpa-broken",
         "whole": True, "step": 0},
        {"api_version": "apps/v1", "kind": "Deployment", "name": "front-end", "fields": ["/spec/replicas"], "step": 0},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["faults"][0]["signal"].update(
                kind="probe", check={"service": "payment", "amount": 50, "expect": {"authorised": True}}
            ),
            "faults[0] (shipping-task has its consumer before the fault): a gate reads the cluster, not a probe signal",
        ),
        (lambda d: d.update(faults=d["faults"][:1]), "faults: there is no fault, only gates"),
        (lambda d: d["faults"][0].pop("signal"), "'signal' is a required property"),
    ],
)
def test_bad_gates_are_refused(catalog: Path, change, expected: str) -> None:
    rewrite(catalog, "5", change)
    with pytest.raises(incident_load.CatalogError) as error:
        incident_load.load_incident(str(catalog), "5")
    assert expected in str(error.value) and "Nothing was changed" in str(error.value)
