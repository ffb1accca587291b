"""Where a pod may run: the default scheduler's filters and scores, as pure functions over pods and nodes.

The filters run in the default profile's order and the first one a node fails names it in the scheduler's
message (pkg/scheduler/framework/plugins): NodeUnschedulable (`node(s) were unschedulable`), TaintToleration
(`node(s) had untolerated taint {key: value}` for a NoSchedule or NoExecute taint), NodeAffinity (nodeSelector and
required node affinity: `node(s) didn't match Pod's node affinity/selector`; nodes left out by its PreFilter, when
every term names nodes by `metadata.name`: `node(s) didn't satisfy plugin(s) [NodeAffinity]`), NodeResourcesFit
(`Insufficient cpu`, `Too many pods`). Feasible nodes are scored by TaintToleration (fewer untolerated
PreferNoSchedule taints, weight 3), NodeAffinity (preferred terms, weight 2) and NodeResourcesFit's
LeastAllocated (weight 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubesim.usage import Limits, bytes_of, millicores

Obj = dict[str, Any]

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"

# What the DaemonSet controller adds to every pod it creates (util.AddOrUpdateDaemonPodTolerations).
DAEMONSET_TOLERATIONS: tuple[Obj, ...] = (
    {"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute"},
    {"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": UNSCHEDULABLE_TAINT, "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION: Obj = {
    "key": "node.kubernetes.io/network-unavailable",
    "operator": "Exists",
    "effect": "NoSchedule",
}


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """core/v1 Toleration.ToleratesTaint: an empty effect matches every effect, an empty key with Exists every
    key; Equal (or no operator) compares values."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def tolerated(tolerations: Iterable[Mapping[str, Any]] | None, taint: Mapping[str, Any]) -> bool:
    return any(tolerates(t, taint) for t in tolerations or [])


def untolerated_taint(pod: Obj, node: Obj, effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> Obj | None:
    """The first of the node's taints with one of `effects` that the pod does not tolerate."""
    tolerations = pod["spec"].get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in effects and not tolerated(tolerations, taint):
            return dict(taint)
    return None


def add_daemonset_tolerations(pod_spec: Obj) -> None:
    """Add (once) the tolerations the DaemonSet controller gives its pods."""
    tolerations = list(pod_spec.get("tolerations") or [])
    wanted = list(DAEMONSET_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    for tol in wanted:
        if not any(t.get("key") == tol["key"] and t.get("effect") == tol["effect"] for t in tolerations):
            tolerations.append(dict(tol))
    pod_spec["tolerations"] = tolerations


def _requirement_matches(req: Mapping[str, Any], value: str | None) -> bool:
    op, values = req.get("operator"), [str(v) for v in req.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            have, bound = int(value), int(values[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def term_matches(term: Mapping[str, Any], node: Obj) -> bool:
    """A NodeSelectorTerm: every matchExpression (labels) and matchField (`metadata.name`); an empty term
    matches no node."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    for req in expressions:
        if not _requirement_matches(req, labels.get(req.get("key", ""))):
            return False
    for req in fields:
        value = node["metadata"]["name"] if req.get("key") == "metadata.name" else None
        if value is None or not _requirement_matches(req, value):
            return False
    return True


def _node_affinity(pod: Obj) -> Obj:
    return ((pod["spec"].get("affinity") or {}).get("nodeAffinity")) or {}


def _required_terms(pod: Obj) -> list[Obj] | None:
    required = _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return None
    return list(required.get("nodeSelectorTerms") or [])


def matches_node_affinity(pod: Obj, node: Obj) -> bool:
    """nodeSelector (every pair) and required node affinity (any term)."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()):
        return False
    terms = _required_terms(pod)
    return terms is None or any(term_matches(t, node) for t in terms)


def prefilter_node_names(pod: Obj) -> set[str] | None:
    """NodeAffinity's PreFilter: when every required term names nodes with `metadata.name In`, only those
    nodes are considered; None when any node may be."""
    terms = _required_terms(pod)
    if not terms:
        return None
    names: set[str] = set()
    for term in terms:
        fields = [
            f for f in term.get("matchFields") or [] if f.get("key") == "metadata.name" and f.get("operator") == "In"
        ]
        if len(fields) != 1:
            return None
        names.update(str(v) for v in fields[0].get("values") or [])
    return names


def pod_requests(pod: Obj) -> tuple[int, int]:
    """(millicores, bytes) the scheduler counts for a pod: the sum over its containers, or the largest init
    container's request where that is larger (upstream's computePodResourceRequest)."""

    def total(containers: list[Obj]) -> tuple[int, int]:
        limits = [Limits.of(c) for c in containers]
        return sum(x.cpu_request_m or 0 for x in limits), sum(x.memory_request or 0 for x in limits)

    cpu, mem = total(pod["spec"].get("containers") or [])
    for init in pod["spec"].get("initContainers") or []:
        icpu, imem = total([init])
        cpu, mem = max(cpu, icpu), max(mem, imem)
    return cpu, mem


@dataclass
class NodeUse:
    """What the pods bound to a node already request (NodeResourcesFit's view)."""

    pods: int = 0
    cpu_m: int = 0
    memory: int = 0

    def add(self, pod: Obj) -> None:
        cpu, mem = pod_requests(pod)
        self.pods, self.cpu_m, self.memory = self.pods + 1, self.cpu_m + cpu, self.memory + mem


def insufficient(pod: Obj, node: Obj, use: NodeUse | None) -> list[str]:
    if use is None:
        return []
    alloc = (node.get("status") or {}).get("allocatable") or {}
    out = []
    if "pods" in alloc and use.pods + 1 > int(alloc["pods"]):
        out.append("Too many pods")
    cpu, mem = pod_requests(pod)
    if cpu and "cpu" in alloc and use.cpu_m + cpu > millicores(alloc["cpu"]):
        out.append("Insufficient cpu")
    if mem and "memory" in alloc and use.memory + mem > bytes_of(alloc["memory"]):
        out.append("Insufficient memory")
    return out


def node_ready(node: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def daemon_should_run(pod: Obj, node: Obj) -> bool:
    """The DaemonSet controller's NodeShouldRunDaemonPod: the template's node name, selector and required
    affinity match the node and every NoSchedule/NoExecute taint is tolerated (cordoned nodes included: its
    pods tolerate `node.kubernetes.io/unschedulable`)."""
    wanted = pod["spec"].get("nodeName")
    if wanted and wanted != node["metadata"]["name"]:
        return False
    return matches_node_affinity(pod, node) and untolerated_taint(pod, node) is None


UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
PREFILTERED = "node(s) didn't satisfy plugin(s) [NodeAffinity]"


def filter_reasons(pod: Obj, node: Obj, use: NodeUse | None) -> list[str]:
    """Why the node cannot take the pod (the first failing filter's reasons), or [] when it can. A node without a
    Ready condition is not ready (the node lifecycle controller would taint it not-ready)."""
    unschedulable_taint = {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    spec = node.get("spec") or {}
    if spec.get("unschedulable") and not tolerated(pod["spec"].get("tolerations"), unschedulable_taint):
        return [UNSCHEDULABLE]
    taint = untolerated_taint(pod, node)
    if taint is not None:
        return [f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"]
    if not node_ready(node):
        ready_taint = {"key": NOT_READY_TAINT, "effect": "NoSchedule"}
        if not tolerated(pod["spec"].get("tolerations"), ready_taint):
            return [f"node(s) had untolerated taint {{{NOT_READY_TAINT}: }}"]
    if not matches_node_affinity(pod, node):
        return [AFFINITY]
    return insufficient(pod, node, use)


def _least_allocated(pod: Obj, node: Obj, use: NodeUse) -> float:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cpu, mem = pod_requests(pod)
    scores = []
    for have, want in (
        (millicores(alloc.get("cpu", "0")), use.cpu_m + cpu),
        (bytes_of(alloc.get("memory", "0")), use.memory + mem),
    ):
        scores.append(0.0 if have <= 0 else max(0.0, (have - want) * 100.0 / have))
    return sum(scores) / len(scores)


def _preferred_affinity(pod: Obj, node: Obj) -> int:
    total = 0
    for pref in _node_affinity(pod).get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        if term_matches(pref.get("preference") or {}, node):
            total += int(pref.get("weight") or 0)
    return total


def _untolerated_prefer_no_schedule(pod: Obj, node: Obj) -> int:
    tolerations = [t for t in pod["spec"].get("tolerations") or [] if t.get("effect") in (None, "", "PreferNoSchedule")]
    return sum(
        1
        for taint in (node.get("spec") or {}).get("taints") or []
        if taint.get("effect") == "PreferNoSchedule" and not tolerated(tolerations, taint)
    )


def best_node(pod: Obj, feasible: list[Obj], used: Mapping[str, NodeUse]) -> Obj:
    """The highest weighted sum of normalised scores; the first node listed on a tie."""
    taints = [_untolerated_prefer_no_schedule(pod, n) for n in feasible]
    prefs = [_preferred_affinity(pod, n) for n in feasible]
    max_taints, max_prefs = max(taints), max(prefs)

    def score(i: int) -> float:
        node = feasible[i]
        taint_score = 100.0 if max_taints == 0 else 100.0 - taints[i] * 100.0 / max_taints
        pref_score = 0.0 if max_prefs == 0 else prefs[i] * 100.0 / max_prefs
        fit = _least_allocated(pod, node, used.get(node["metadata"]["name"], NodeUse()))
        return 3 * taint_score + 2 * pref_score + fit

    return feasible[max(range(len(feasible)), key=lambda i: (score(i), -i))]


def schedule(pod: Obj, nodes: list[Obj], used: Mapping[str, NodeUse] | None = None) -> tuple[Obj | None, str]:
    """The node the pod goes to, or None with the scheduler's FailedScheduling message. `used` holds what each
    node's pods already request (None: resources are not checked)."""
    reasons: dict[str, int] = {}
    resolvable = 0  # nodes that failed on resources only: preemption could help there
    feasible: list[Obj] = []
    wanted = prefilter_node_names(pod)

    def miss(text: str) -> None:
        reasons[text] = reasons.get(text, 0) + 1

    for node in nodes:
        if wanted is not None and node["metadata"]["name"] not in wanted:
            miss(PREFILTERED)
            continue
        why = filter_reasons(pod, node, None if used is None else used.get(node["metadata"]["name"], NodeUse()))
        if not why:
            feasible.append(node)
            continue
        for text in why:
            miss(text)
        if why[0].startswith(("Insufficient", "Too many")):
            resolvable += 1
    if feasible:
        if used is None or len(feasible) == 1:
            return feasible[0], ""
        return best_node(pod, feasible, used), ""
    return None, fit_error(len(nodes), reasons, resolvable)


def fit_error(total: int, reasons: Mapping[str, int], resolvable: int) -> str:
    """FitError.Error(): `<count> <reason>` strings sorted, then the preemption plugin's own diagnosis."""
    detail = ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
    preemption = sorted(
        f"{n} {text}"
        for n, text in (
            (resolvable, "No preemption victims found for incoming pod"),
            (total - resolvable, "Preemption is not helpful for scheduling"),
        )
        if n
    )
    if not total:
        return "no nodes available to schedule pods"
    return (
        f"0/{total} nodes are available: {detail}. preemption: 0/{total} nodes are available: {', '.join(preemption)}."
    )
