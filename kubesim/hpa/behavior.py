"""Conditions, and the scaling rules that bound a recommendation (horizontal.go's normalisation)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from kubesim import convert_hpa
from kubesim.hpa.model import (
    DOWNSCALE_STABILIZATION_S,
    MAX_INT32,
    MIN_INT32,
    SCALE_UP_LIMIT_FACTOR,
    SCALE_UP_LIMIT_MINIMUM,
    Memory,
    Obj,
    ScaleEvent,
    rfc3339,
)


# ---- conditions ---------------------------------------------------------------------------------------------------
def set_condition(conditions: list[Obj], ctype: str, status: str, reason: str, message: str, *, now: float) -> None:
    """setConditionInList: update in place (the transition time moves only when the status does), or append."""
    cond = next((c for c in conditions if c.get("type") == ctype), None)
    if cond is None:
        cond = {"type": ctype}
        conditions.append(cond)
    if cond.get("status") != status:
        cond["lastTransitionTime"] = rfc3339(now)
    cond["status"], cond["reason"], cond["message"] = status, reason, message
    # the field order of the API type
    ordered: Obj = {k: cond[k] for k in ("type", "status", "lastTransitionTime", "reason", "message") if k in cond}
    cond.clear()
    cond.update(ordered)


# ---- normalisation (horizontal.go) ---------------------------------------------------------------------------------
def calculate_scale_up_limit(current_replicas: int) -> int:
    return int(max(SCALE_UP_LIMIT_FACTOR * current_replicas, SCALE_UP_LIMIT_MINIMUM))


def convert_desired_replicas_with_rules(
    current_replicas: int, desired_replicas: int, min_replicas: int, max_replicas: int
) -> tuple[int, str, str]:
    """Without `behavior`: (replicas, ScalingLimited reason, message) bounded by min/max and by 2x (at least 4)."""
    scale_up_limit = calculate_scale_up_limit(current_replicas)
    if max_replicas > scale_up_limit:
        maximum = scale_up_limit
        reason, message = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    else:
        maximum = max_replicas
        reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    if desired_replicas < min_replicas:
        return min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired_replicas > maximum:
        return maximum, reason, message
    return desired_replicas, "DesiredWithinRange", "the desired count is within the acceptable range"


def stabilize_recommendation(memory: Memory, prenormalized: int, now: float, window: float) -> int:
    """Without `behavior`: the highest recommendation of the window; the newest replaces one that fell out."""
    highest = prenormalized
    old_index: int | None = None
    cutoff = now - window
    for i, (recommendation, ts) in enumerate(memory.recommendations):
        if ts < cutoff:
            old_index = i
        elif recommendation > highest:
            highest = recommendation
    if old_index is not None:
        memory.recommendations[old_index] = (prenormalized, now)
    else:
        memory.recommendations.append((prenormalized, now))
    return highest


def stabilize_recommendation_with_behaviors(
    memory: Memory, current: int, desired: int, *, up_window: float, down_window: float, now: float
) -> tuple[int, str, str]:
    """The recommendation kept between the lowest of the scale-up window and the highest of the scale-down one."""
    up_recommendation = down_recommendation = desired
    up_cutoff, down_cutoff = now - up_window, now - down_window
    old_index: int | None = None
    for i, (recommendation, ts) in enumerate(memory.recommendations):
        if ts > up_cutoff:
            up_recommendation = min(recommendation, up_recommendation)
        if ts > down_cutoff:
            down_recommendation = max(recommendation, down_recommendation)
        if ts < up_cutoff and ts < down_cutoff:
            old_index = i
    recommendation = current
    recommendation = max(recommendation, up_recommendation)
    recommendation = min(recommendation, down_recommendation)
    if old_index is not None:
        memory.recommendations[old_index] = (desired, now)
    else:
        memory.recommendations.append((desired, now))
    if desired >= current:
        return (
            recommendation,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    return (
        recommendation,
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    )


def replicas_change_per_period(period_seconds: float, events: Iterable[ScaleEvent], now: float) -> int:
    cutoff = now - period_seconds
    return sum(e.change for e in events if e.timestamp > cutoff)


def _policy_limit(
    current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Obj, now: float, *, up: bool
) -> int:
    """The replica bound the policies of one direction allow now: each policy proposes a bound from the replica
    count at the start of its period (Pods: +/- value; Percent: *(1 +/- value%)), and selectPolicy Max picks the
    one that allows the largest change, Min the smallest."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    largest_change = select != "Min"
    pick: Callable[[int, int], int] = max if largest_change == up else min
    result = MIN_INT32 if pick is max else MAX_INT32
    for policy in rules.get("policies") or []:
        period = policy.get("periodSeconds", 0)
        start = (
            current
            - replicas_change_per_period(period, up_events, now)
            + replicas_change_per_period(period, down_events, now)
        )
        value = policy.get("value", 0)
        if policy.get("type") == "Pods":
            proposed = start + value if up else start - value
        elif policy.get("type") == "Percent":
            proposed = math.ceil(start * (1 + value / 100)) if up else int(start * (1 - value / 100))
        else:
            continue
        result = pick(result, proposed)
    return result


def calculate_scale_up_limit_with_scaling_rules(
    current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Obj, now: float
) -> int:
    """The most replicas the scale-up policies allow now (selectPolicy Max: the largest; Min: the smallest)."""
    return _policy_limit(current, up_events, down_events, rules, now, up=True)


def calculate_scale_down_limit_with_behaviors(
    current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Obj, now: float
) -> int:
    """The fewest replicas the scale-down policies allow now."""
    return _policy_limit(current, up_events, down_events, rules, now, up=False)


def convert_desired_replicas_with_behavior_rate(
    memory: Memory,
    current: int,
    desired: int,
    *,
    min_replicas: int,
    max_replicas: int,
    behavior: Obj,
    now: float,
) -> tuple[int, str, str]:
    if desired > current:
        limit = calculate_scale_up_limit_with_scaling_rules(
            current, memory.scale_up_events, memory.scale_down_events, behavior["scaleUp"], now
        )
        limit = max(limit, current)  # no further scale up until the events age out
        if max_replicas > limit:
            maximum = limit
            reason, message = (
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            )
        else:
            maximum = max_replicas
            reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
        if desired > maximum:
            return maximum, reason, message
    elif desired < current:
        limit = calculate_scale_down_limit_with_behaviors(
            current, memory.scale_up_events, memory.scale_down_events, behavior["scaleDown"], now
        )
        limit = min(limit, current)
        if min_replicas < limit:
            minimum = limit
            reason, message = (
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        else:
            minimum = min_replicas
            reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        if desired < minimum:
            return minimum, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def effective_behavior(behavior: Obj, downscale_window: float = DOWNSCALE_STABILIZATION_S) -> Obj:
    """The behavior with every default filled in, the scale-down window included (maybeInitScaleDown...)."""
    out = {
        "scaleUp": convert_hpa.scale_up_rules(behavior.get("scaleUp")),
        "scaleDown": convert_hpa.scale_down_rules(behavior.get("scaleDown")),
    }
    if out["scaleDown"].get("stabilizationWindowSeconds") is None:
        out["scaleDown"]["stabilizationWindowSeconds"] = int(downscale_window)
    return out


def _longest_period(rules: Obj) -> int:
    return max((p.get("periodSeconds", 0) for p in rules.get("policies") or []), default=0)


def store_scale_event(memory: Memory, behavior: Obj | None, previous: int, new: int, now: float) -> None:
    """Remember a rescale for the rate policies (only an HPA with `behavior` uses them)."""
    if behavior is None:
        return
    if new > previous:
        events, rules, change = memory.scale_up_events, behavior["scaleUp"], new - previous
    else:
        events, rules, change = memory.scale_down_events, behavior["scaleDown"], previous - new
    cutoff = now - _longest_period(rules)
    old_index: int | None = None
    for i, event in enumerate(events):
        if event.timestamp < cutoff:
            event.outdated = True
        if event.outdated:
            old_index = i
    if old_index is not None:
        events[old_index] = ScaleEvent(change, now)
    else:
        events.append(ScaleEvent(change, now))
