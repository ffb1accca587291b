"""PodDisruptionBudgets and the Eviction API (`POST pods/<name>/eviction`).

`budget_status` is what the disruption controller computes for a policy/v1 PodDisruptionBudget (expectedPods,
currentHealthy, desiredHealthy, disruptionsAllowed and the DisruptionAllowed condition); `evict` is the
apiserver's eviction REST handler (pkg/registry/core/pod/storage/eviction.go): a pod that is Pending, finished
or already terminating is deleted at once; otherwise the one budget selecting it must allow a disruption, which
the eviction takes (disruptionsAllowed - 1, the pod recorded in disruptedPods) before the pod is deleted with its
grace period; a budget that allows none answers 429 `Cannot evict pod as it would violate the pod's disruption
budget.`
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kubesim import errors, resources
from kubesim.registry import now_rfc3339
from kubesim.selectors import SelectorError, label_selector_from_spec

if TYPE_CHECKING:
    from kubesim.registry import Registry

Obj = dict[str, Any]
PODS = resources.get("", "v1", "pods")
PDBS = resources.get("policy", "v1", "poddisruptionbudgets")
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
DELETION_TIMEOUT = timedelta(minutes=2)  # how long an eviction's disruptedPods entry holds (DeletionTimeout)


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def selects(pdb: Obj, pod: Obj, *, empty_matches: bool) -> bool:
    spec = pdb.get("spec") or {}
    selector = spec.get("selector")
    if selector is None:
        return False
    try:
        parsed = label_selector_from_spec(selector)
    except SelectorError:
        return False
    if parsed.empty:
        return empty_matches
    return parsed.matches(pod["metadata"].get("labels") or {})


def _scaled(value: Any, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent, rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def _expected_scale(pods: list[Obj], store: Any) -> int:
    """The sum of `spec.replicas` over the controllers of the budget's pods (a ReplicaSet owned by a Deployment
    counts the Deployment's)."""
    seen: dict[str, int] = {}
    for pod in pods:
        ref = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if ref is None:
            continue
        ns = pod["metadata"]["namespace"]
        kinds = {
            "ReplicaSet": "apps/replicasets",
            "StatefulSet": "apps/statefulsets",
            "ReplicationController": "replicationcontrollers",
        }
        key = kinds.get(ref.get("kind", ""))
        owner = store.peek(key, ns, ref["name"]) if key else None
        if owner is None:
            continue
        if ref["kind"] == "ReplicaSet":
            dep_ref = next((r for r in owner["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
            dep = (
                store.peek("apps/deployments", ns, dep_ref["name"])
                if dep_ref and dep_ref.get("kind") == "Deployment"
                else None
            )
            if dep is not None:
                owner = dep
        seen[owner["metadata"]["uid"]] = int((owner.get("spec") or {}).get("replicas", 1))
    return sum(seen.values())


def budget_status(pdb: Obj, pods: list[Obj], store: Any, now: datetime | None = None) -> Obj:
    """The disruption controller's view of a budget over the pods of its namespace."""
    now = now or datetime.now(UTC)
    spec = pdb.get("spec") or {}
    old = pdb.get("status") or {}
    mine = [p for p in pods if selects(pdb, p, empty_matches=True)]
    disrupted: dict[str, str] = {}
    for name, when in (old.get("disruptedPods") or {}).items():
        pod = next((p for p in mine if p["metadata"]["name"] == name), None)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            continue
        try:
            stamp = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            continue
        if stamp + DELETION_TIMEOUT > now:
            disrupted[name] = when
    healthy = sum(
        1
        for p in mine
        if not p["metadata"].get("deletionTimestamp") and p["metadata"]["name"] not in disrupted and _ready(p)
    )
    if spec.get("maxUnavailable") is not None:
        expected = _expected_scale(mine, store)
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
    elif spec.get("minAvailable") is not None and isinstance(spec["minAvailable"], int):
        expected, desired = len(mine), int(spec["minAvailable"])
    elif spec.get("minAvailable") is not None:
        expected = _expected_scale(mine, store)
        desired = _scaled(spec["minAvailable"], expected)
    else:
        expected, desired = len(mine), 0
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    status: Obj = {
        "observedGeneration": pdb["metadata"].get("generation", 1),
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [allowed_condition(old, allowed, pdb["metadata"].get("generation", 1))],
    }
    if disrupted:
        status["disruptedPods"] = disrupted
    return status


def allowed_condition(old_status: Obj, allowed: int, generation: int) -> Obj:
    state, reason = ("True", "SufficientPods") if allowed > 0 else ("False", "InsufficientPods")
    prev = next((c for c in old_status.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    return {
        "type": "DisruptionAllowed",
        "status": state,
        "observedGeneration": generation,
        "lastTransitionTime": prev["lastTransitionTime"] if prev and prev.get("status") == state else now_rfc3339(),
        "reason": reason,
        "message": "",
    }


def _too_many(message: str, cause: str, retry_after: int = 0) -> errors.APIError:
    details: Obj = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return errors.APIError(429, "TooManyRequests", message, details)


def _success() -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def evict(registry: Registry, ns: str, name: str, body: Any, *, dry_run: bool) -> tuple[Obj, int]:
    """Answer an Eviction for pod ns/name: (Status, HTTP code), or raise the apiserver's APIError."""
    if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
        raise errors.bad_request(f"not a Eviction object: {type(body).__name__}")
    if (body.get("metadata") or {}).get("name") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = dict(body.get("deleteOptions") or {})
    dry_run = dry_run or "All" in (options.get("dryRun") or [])
    pod = registry.store.get(PODS.key, ns, name)
    if pod is None:
        raise errors.not_found(PODS, name)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed", "Pending") or pod["metadata"].get("deletionTimestamp"):
        registry.delete(PODS, ns, name, options, dry_run=dry_run)
        return _success(), 201
    budgets = [p for p in registry.store.scan(PDBS.key, ns) if selects(p, pod, empty_matches=False)]
    if len(budgets) > 1:
        message = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "code": 500,
        }, 500
    if budgets:
        pdb = budgets[0]
        status = pdb.get("status") or {}
        healthy, desired = int(status.get("currentHealthy", 0)), int(status.get("desiredHealthy", 0))
        unhealthy_ok = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow"
        if not _ready(pod) and (unhealthy_ok or (healthy >= desired > 0)):
            registry.delete(PODS, ns, name, options, dry_run=dry_run)
            return _success(), 201
        _take_disruption(registry, pdb, name, dry_run=dry_run)
    registry.delete(PODS, ns, name, options, dry_run=dry_run)
    return _success(), 201


def _take_disruption(registry: Registry, pdb: Obj, pod_name: str, *, dry_run: bool) -> None:
    """checkAndDecrement: refuse when the budget allows no disruption, else take one and note the pod."""
    status = pdb.get("status") or {}
    budget = pdb["metadata"]["name"]
    if int(status.get("observedGeneration", 0)) < int(pdb["metadata"].get("generation", 1)):
        raise _too_many(VIOLATION, f"The disruption budget {budget} is still being processed by the server.", 10)
    allowed = int(status.get("disruptionsAllowed", 0))
    if allowed < 0:
        raise errors.forbidden(
            f'poddisruptionbudgets.policy "{budget}" is forbidden: pdb disruptions allowed is negative',
            {"name": budget, "group": "policy", "kind": "poddisruptionbudget"},
        )
    if allowed == 0:
        raise _too_many(
            VIOLATION,
            f"The disruption budget {budget} needs {int(status.get('desiredHealthy', 0))} healthy pods "
            f"and has {int(status.get('currentHealthy', 0))} currently",
        )
    if dry_run:
        return
    new = registry.store.get(PDBS.key, pdb["metadata"]["namespace"], budget)
    assert new is not None
    st = new.setdefault("status", {})
    st["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        st["conditions"] = [allowed_condition(st, 0, int(st.get("observedGeneration", 1)))]
    st.setdefault("disruptedPods", {})[pod_name] = now_rfc3339()
    registry.write(PDBS, pdb, new, sub="status")
