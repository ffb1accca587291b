#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_load
short_description: Load and validate an incident of the catalog
description:
  - Reads C(incidents/incident-<id>.yml) on the controller, validates it against C(incidents/schema.json)
    (JSON Schema draft 2020-12) and against the cross-references the schema cannot express
    (checklist items and promql/datadog signals must name things that exist).
  - Returns the incident and the plan the engine derives from it - each fault reduced to the steps incident_fault
    applies (C(scale_to_zero), C(patch), C(put)), what the ledger records before them, which restart counts it
    keeps, which signals are probes. A C(load) fault's Job, locustfile ConfigMap and statistics Service are
    rendered here, with its users and spawn rate scaled by I(users_factor); a C(rabbitmq_policy) fault becomes
    the put of one C(RabbitMQPolicy) object, recorded whole (the broker's policy of that name, or its absence).
  - Touches no cluster, so the engine runs it before any phase writes anything.
version_added: "0.1.0"
author: sockshop-incidents contributors
options:
  id:
    description: Incident id, as in the file name C(incident-<id>.yml).
    type: str
    required: true
  catalog_dir:
    description: Directory holding the incident files and C(schema.json).
    type: path
    required: true
  namespace:
    description:
      - Namespace the incident runs in. Empty means the incident's C(target.namespace).
    type: str
    default: ""
  users_factor:
    description:
      - Scale of a C(load) fault's users and spawn rate for the target (C(sockshop_load_users_factor) of the
        inventory; 1.0 is the lab's figure, the local target's measured capacity gives 1.3).
    type: float
    default: 1.0
  files_dir:
    description:
      - Directory of the files a fault ships into the cluster (the incident role's C(files/)); a C(service_latency)
        fault reads its proxy, C(latency_proxy.py), from there.
    type: path
    default: ""
requirements:
  - jsonschema >= 4.18
  - PyYAML
notes:
  - Runs on the controller, in the controller process (action plugin C(plugins/action/incident_load.py)); supports
    check mode (it only reads files).
"""

EXAMPLES = r"""
- name: Load incident 6
  incident_load:
    id: "6"
    catalog_dir: "{{ playbook_dir }}/../incidents"
  register: loaded

- name: Show the fault
  ansible.builtin.debug:
    msg: "{{ loaded.incident.faults }}"
"""

RETURN = r"""
incident:
  description: The validated incident, as in the file.
  returned: success
  type: dict
plan:
  description: What the engine does for this incident, derived from the data.
  returned: success
  type: dict
  contains:
    namespace:
      description: Namespace every object lives in.
      type: str
    faults:
      description: The steps incident_fault applies in order, each with C(step), C(type) and its target.
      type: list
      elements: dict
    segments:
      description:
        - The steps cut at each C(gate) fault - C(faults) (steps) then C(gate) (a signal, or null) - in order. The
          engine applies a segment's steps, then checks its gate before the next segment; a gate that does not
          open restores what was applied.
      type: list
      elements: dict
    ledger_objects:
      description: The objects and fields the faults change; the ledger records their prior values (or whole objects).
      type: list
      elements: dict
    restart_watch:
      description: Deployments whose container restart counts the ledger records for verify.
      type: list
      elements: str
    probe_signals:
      description: Signals checked with payment_probe.
      type: list
      elements: dict
    cluster_signals:
      description: Signals checked with incident_signals (including C(orders) signals on the traffic).
      type: list
      elements: dict
    confirm_probes:
      description: Recovery confirmations checked with payment_probe.
      type: list
      elements: dict
    confirm_orders:
      description: Recovery confirmations of kind C(orders), checked with incident_signals on the test order.
      type: list
      elements: dict
    confirm_cluster:
      description: Recovery confirmations read from the cluster with incident_signals (logs, queues, workload state).
      type: list
      elements: dict
    reconcile:
      description: The recovery confirmation of kind C(reconcile) (order_reconcile over the incident window), or null.
      type: dict
    test_order:
      description: C(recovery.test_order) (one order placed after payments are confirmed), or null.
      type: dict
    traffic:
      description: The orders to place while the fault is in place (verify places them with place_orders).
      type: list
      elements: dict
known_ids:
  description: Every incident id in the catalog.
  returned: always
  type: list
  elements: str
  sample: ["3", "6"]
loaded_at:
  description:
    - When the incident was loaded (UTC). Every phase does that first, so the engine takes it as the phase's start.
  returned: success
  type: str
  sample: "2026-11-23T08:24:40.112Z"
incident_file:
  description:
    - The file that was loaded. (Not C(path), which Ansible's module runner would decorate with file attributes.)
  returned: success
  type: str
"""

import json
import os
import re
from typing import Any

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils import sockshop_hpa as hpa
from ansible.module_utils import sockshop_latency as latency
from ansible.module_utils import sockshop_rabbitmq as rabbitmq
from ansible.module_utils.sockshop_investigate import commands
from ansible.module_utils.sockshop_incident import body_ref
from ansible.module_utils.sockshop_locust import manifests
from ansible.module_utils.sockshop_module import Connect, ModuleError, iso, main_of, utc_now

try:
    import yaml

    HAS_YAML = True
except ImportError:
    HAS_YAML = False

try:
    import jsonschema

    HAS_JSONSCHEMA = True
except ImportError:
    HAS_JSONSCHEMA = False

FAULT_TYPES = ("scale_to_zero", "patch", "set_resources", "load", "service_latency", "hpa", "rabbitmq_policy", "gate")
LATENCY_PROXY = "latency_proxy.py"
FILE_PATTERN = re.compile(r"^incident-([0-9]+[A-Z]?)\.yml$")


class CatalogError(ModuleError):
    """The incident cannot be used; the message says why and what to do."""


def known_ids(catalog_dir: str) -> list[str]:
    """Ids of every incident-<id>.yml in the catalog, in numeric order."""
    try:
        names = os.listdir(catalog_dir)
    except OSError as exc:
        raise CatalogError(f"cannot read the incident catalog {catalog_dir}: {exc.strerror}") from exc
    ids = [m.group(1) for m in map(FILE_PATTERN.match, names) if m]
    return sorted(ids, key=lambda i: (int(re.sub(r"\D", "", i)), i))


def json_path(parts: Any) -> str:
    """signals[2].check style path for a jsonschema error path."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe_error(error: Any) -> str:
    where = json_path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        return f"unknown field {', '.join(repr(u) for u in unknown)} at {where} (allowed: {', '.join(sorted(allowed))})"
    path = list(error.absolute_path)
    if len(path) == 3 and path[0] == "faults" and path[2] == "type" and error.validator == "enum":
        return f"unknown fault type {error.instance!r} at {where} (implemented: {', '.join(FAULT_TYPES)})"
    return f"{where}: {error.message}"


def order_problems(doc: dict[str, Any]) -> list[str]:
    """Order signals need orders to judge: traffic in verify, a test order in recovery."""
    problems = []
    recovery = doc["recovery"]
    for where, signals, placed in (
        ("signals", doc["signals"], bool(doc["traffic"])),
        ("recovery.confirm", recovery["confirm"], "test_order" in recovery),
    ):
        for index, signal in enumerate(signals):
            per_order = signal["kind"] == "pod_log" and signal["check"].get("per_order")
            if (signal["kind"] == "orders" or per_order) and not placed:
                problems.append(
                    f"{where}[{index}] ({signal['name']}) judges the orders placed, but "
                    + ("traffic is empty" if where == "signals" else "recovery has no test_order")
                )
            if signal["kind"] == "reconcile" and where == "signals":
                problems.append(f"signals[{index}] ({signal['name']}): reconcile signals belong in recovery.confirm")
            if signal["kind"] == "reconcile" and not doc["traffic"]:
                problems.append(f"{where}[{index}] ({signal['name']}) reconciles the traffic, but traffic is empty")
    return problems


def validate(doc: Any, schema: dict[str, Any]) -> list[str]:
    """Every schema and cross-reference problem of an incident document, as sentences."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [describe_error(e) for e in errors]
    if problems or not isinstance(doc, dict):
        return problems or ["the incident file must hold a mapping"]
    signals = doc["signals"] + doc["recovery"]["confirm"]
    names = [s["name"] for s in signals]
    problems += [f"signal name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for index, item in enumerate(doc["checklist"]):
        problems += [
            f"checklist[{index}] ({item['name']}) names unknown signal {ref!r}"
            for ref in item["signals"]
            if ref not in names
        ]
    problems += order_problems(doc)
    for index, fault in enumerate(doc["faults"]):
        if fault["type"] == "gate" and fault["signal"]["kind"] in ("probe", "orders", "reconcile"):
            problems.append(
                f"faults[{index}] ({fault['signal']['name']}): a gate reads the cluster, not a "
                f"{fault['signal']['kind']} signal (use k8s_state, k8s_event, pod_log, queue, load, usage, "
                "termination, http or hpa)"
            )
    if all(fault["type"] == "gate" for fault in doc["faults"]):
        problems.append("faults: there is no fault, only gates")
    jobs = {fault["job"] for fault in doc["faults"] if fault["type"] == "load"}
    problems += [
        f"signal {signal['name']!r} reads the load {signal['check']['job']!r}, but no load fault runs a job of that "
        f"name (load jobs: {', '.join(sorted(jobs)) or 'none'})"
        for signal in signals
        if signal["kind"] == "load" and signal["check"]["job"] not in jobs
    ]
    for index, signal in enumerate(doc["signals"]):
        if signal["kind"] in ("promql", "datadog_logs", "datadog_metrics"):
            queries = [q["name"] for q in doc["queries"][signal["kind"]]]
            ref = signal["check"]["query"]
            if ref not in queries:
                problems.append(f"signals[{index}].check.query names unknown {signal['kind']} query {ref!r}")
    return problems


def workload_ref(workload: dict[str, Any]) -> dict[str, Any]:
    return {"api_version": workload.get("api_version", "apps/v1"), "kind": workload["kind"], "name": workload["name"]}


def resource_paths(fault: dict[str, Any]) -> list[dict[str, Any]]:
    """set_resources as the patch it is: one pointer per request and limit, the container addressed by name."""
    base = f"/spec/template/spec/containers/name={fault['container']}/resources"
    return [
        {"path": f"{base}/{section}/{resource}", "value": str(value)}
        for section in ("requests", "limits")
        for resource, value in sorted((fault["resources"].get(section) or {}).items())
    ]


def fault_steps(
    fault: dict[str, Any], namespace: str, incident_id: str, options: dict[str, Any]
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """One fault of the file as the steps incident_fault applies, each with the ledger entries recorded before it
    (step numbers are filled in by build_plan)."""
    kind = fault["type"]
    if kind == "scale_to_zero":
        obj = workload_ref(fault["workload"])
        return [({"type": kind, "object": obj}, [dict(obj, fields=["/spec/replicas"])])]
    if kind in ("patch", "set_resources"):
        obj = workload_ref(fault["object"] if kind == "patch" else fault["workload"])
        sets = fault["set"] if kind == "patch" else resource_paths(fault)
        return [({"type": "patch", "object": obj, "set": sets}, [dict(obj, fields=[entry["path"] for entry in sets])])]
    if kind == "load":
        bodies = manifests(fault, namespace=namespace, incident_id=incident_id, users_factor=options["users_factor"])
        return [({"type": "put", "objects": bodies}, [dict(body_ref(b), whole=True) for b in bodies])]
    if kind == "hpa":
        # The HPA may rescale its target: the restore deletes the HPA first, then puts the replicas back.
        body = hpa.manifest(fault, namespace=namespace, incident_id=incident_id)
        target = dict(workload_ref(fault["workload"]), fields=["/spec/replicas"])
        return [({"type": "put", "objects": [body]}, [dict(body_ref(body), whole=True), target])]
    if kind == "rabbitmq_policy":  # the broker's policy as an object (sockshop_rabbitmq): absent or as it was
        body = rabbitmq.manifest(fault)
        return [({"type": "put", "objects": [body]}, [dict(body_ref(body), whole=True)])]
    # service_latency: the proxy first, then the Service's selector moves to it
    bodies = latency.manifests(fault, namespace=namespace, incident_id=incident_id, source=proxy_source(options))
    service = {"api_version": "v1", "kind": "Service", "name": fault["service"]}
    selector = {"path": "/spec/selector", "value": latency.proxy_selector(fault["service"])}
    return [
        ({"type": "put", "objects": bodies}, [dict(body_ref(b), whole=True) for b in bodies]),
        ({"type": "patch", "object": service, "set": [selector]}, [dict(service, fields=["/spec/selector"])]),
    ]


def proxy_source(options: dict[str, Any]) -> str:
    path = os.path.join(options.get("files_dir") or "", LATENCY_PROXY)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise CatalogError(
            f"a service_latency fault needs the proxy's script, {LATENCY_PROXY}, in files_dir (the incident role's "
            f"files/): cannot read {path}: {exc.strerror or exc}. Nothing was changed."
        ) from exc


def build_plan(incident: dict[str, Any], namespace: str, **options: Any) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = [{"faults": [], "gate": None}]
    options.setdefault("users_factor", 1.0)
    for fault in incident["faults"]:
        if fault["type"] == "gate":
            segments[-1]["gate"] = fault["signal"]
            segments.append({"faults": [], "gate": None})
            continue
        for step, entries in fault_steps(fault, namespace, incident["id"], options):
            steps.append(dict(step, step=len(steps)))
            segments[-1]["faults"].append(steps[-1])
            ledger += [dict(entry, step=len(steps) - 1) for entry in entries]
    k8s_state = [s["check"] for s in incident["signals"] if s["kind"] == "k8s_state"]
    return {
        "namespace": namespace,
        "faults": steps,
        "segments": [segment for segment in segments if segment["faults"] or segment["gate"]],
        "ledger_objects": ledger,
        "restart_watch": sorted(
            {c["deployment"] for c in k8s_state if c.get("restarts") == "unchanged"}
            | {s["check"]["deployment"] for s in incident["signals"] if s["kind"] == "termination"}
        ),
        "probe_signals": [s for s in incident["signals"] if s["kind"] == "probe"],
        "cluster_signals": [s for s in incident["signals"] if s["kind"] != "probe"],
        "confirm_probes": [s for s in incident["recovery"]["confirm"] if s["kind"] == "probe"],
        "confirm_orders": [s for s in incident["recovery"]["confirm"] if s["kind"] == "orders"],
        "confirm_cluster": [
            s for s in incident["recovery"]["confirm"] if s["kind"] not in ("probe", "orders", "reconcile")
        ],
        "reconcile": next((s for s in incident["recovery"]["confirm"] if s["kind"] == "reconcile"), None),
        "test_order": incident["recovery"].get("test_order"),
        "traffic": incident["traffic"],
        "investigate": commands(incident, namespace),
    }


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error as one line: where it stopped and why."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem


def load_incident(catalog_dir: str, incident_id: str, namespace: str = "", **options: Any) -> dict[str, Any]:
    ids = known_ids(catalog_dir)
    if incident_id not in ids:
        raise CatalogError(
            f"unknown incident id {incident_id!r}; known ids: {', '.join(ids) or 'none'} "
            f"(files {catalog_dir}/incident-<id>.yml)"
        )
    path = os.path.join(catalog_dir, f"incident-{incident_id}.yml")
    schema_path = os.path.join(catalog_dir, "schema.json")
    try:
        with open(schema_path, encoding="utf-8") as handle:
            schema = json.load(handle)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"cannot read the incident schema {schema_path}: {exc}") from exc
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror or exc}. Nothing was changed.") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path} is not valid YAML ({yaml_problem(exc)}). Nothing was changed.") from exc
    problems = validate(doc, schema)
    if not problems and doc["id"] != incident_id:
        problems.append(f"id: the file says {doc['id']!r}, its name says {incident_id!r}")
    if problems:
        raise CatalogError(f"{path} is not a valid incident: " + "; ".join(problems) + ". Nothing was changed.")
    return {
        "incident": doc,
        "plan": build_plan(doc, namespace or doc["target"]["namespace"], **options),
        "known_ids": ids,
        "incident_file": path,
    }


ARGUMENT_SPEC = {
    "id": {"type": "str", "required": True},
    "catalog_dir": {"type": "path", "required": True},
    "namespace": {"type": "str", "default": ""},
    "users_factor": {"type": "float", "default": 1.0},
    "files_dir": {"type": "path", "default": ""},
}


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    """The module's work; reading files is the same in check mode. The action plugin calls this on the controller."""
    for library, present in (("PyYAML", HAS_YAML), ("jsonschema", HAS_JSONSCHEMA)):
        if not present:
            raise CatalogError(missing_required_lib(library))
    started = iso(utc_now())
    return {
        "changed": False,
        "loaded_at": started,
        **load_incident(
            params["catalog_dir"],
            params["id"],
            params["namespace"],
            users_factor=params["users_factor"],
            files_dir=params["files_dir"],
        ),
    }


def main() -> None:
    main_of(ARGUMENT_SPEC, run, cluster=False)


if __name__ == "__main__":
    main()
