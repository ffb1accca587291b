"""Printers for controllers: apps/v1 workloads, batch Jobs and CronJobs, HorizontalPodAutoscalers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._util import (
    CONTAINERS_DOC,
    IMAGES_DOC,
    SELECTOR_DOC,
    Cells,
    Obj,
    Printer,
    RowFn,
    age,
    age_col,
    as_utc,
    bool_ptr,
    col,
    condition_true,
    container_cells,
    dig,
    format_label_selector,
    format_labels,
    human_duration,
    int_of,
    meta,
    name,
    name_col,
    parse_time,
    replicas,
    selector_string,
    since,
    spec,
    status,
    template_spec,
)


def _wide_cols(*, selector: bool = True) -> list[dict[str, Any]]:
    cols = [col("Containers", CONTAINERS_DOC, priority=1), col("Images", IMAGES_DOC, priority=1)]
    if selector:
        cols.append(col("Selector", SELECTOR_DOC, priority=1))
    return cols


def _deployment_row(obj: Obj, now: datetime) -> Cells:
    st = status(obj)
    names, images = container_cells(template_spec(obj))
    return [
        name(obj),
        f"{int_of(st.get('readyReplicas'))}/{replicas(obj)}",
        int_of(st.get("updatedReplicas")),
        int_of(st.get("availableReplicas")),
        age(obj, now),
        names,
        images,
        selector_string(spec(obj).get("selector")),
    ]


DEPLOYMENT = Printer(
    [
        name_col(),
        col("Ready", "Number of the pod with ready state"),
        col(
            "Up-to-date",
            "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        col(
            "Available",
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        age_col(),
        *_wide_cols(),
    ],
    _deployment_row,
)


def _replica_row(*, map_selector: bool) -> RowFn:
    """ReplicaSets carry a LabelSelector; ReplicationControllers a plain label map."""

    def row(obj: Obj, now: datetime) -> Cells:
        st = status(obj)
        names, images = container_cells(template_spec(obj))
        selector = spec(obj).get("selector")
        return [
            name(obj),
            replicas(obj),
            int_of(st.get("replicas")),
            int_of(st.get("readyReplicas")),
            age(obj, now),
            names,
            images,
            format_labels(selector) if map_selector else format_label_selector(selector),
        ]

    return row


_REPLICA_COLUMNS = [
    name_col(),
    col("Desired", "Replicas is the number of desired replicas.", type_="integer"),
    col("Current", "Replicas is the most recently observed number of replicas.", type_="integer"),
    col("Ready", "The number of pods targeted by this controller with a Ready Condition.", type_="integer"),
    age_col(),
    *_wide_cols(),
]
REPLICA_SET = Printer(_REPLICA_COLUMNS, _replica_row(map_selector=False))
REPLICATION_CONTROLLER = Printer(_REPLICA_COLUMNS, _replica_row(map_selector=True))


def _stateful_set_row(obj: Obj, now: datetime) -> Cells:
    names, images = container_cells(template_spec(obj))
    return [name(obj), f"{int_of(status(obj).get('readyReplicas'))}/{replicas(obj)}", age(obj, now), names, images]


STATEFUL_SET = Printer(
    [name_col(), col("Ready", "Number of the pod with ready state"), age_col(), *_wide_cols(selector=False)],
    _stateful_set_row,
)


def _daemon_set_row(obj: Obj, now: datetime) -> Cells:
    st = status(obj)
    names, images = container_cells(template_spec(obj))
    return [
        name(obj),
        int_of(st.get("desiredNumberScheduled")),
        int_of(st.get("currentNumberScheduled")),
        int_of(st.get("numberReady")),
        int_of(st.get("updatedNumberScheduled")),
        int_of(st.get("numberAvailable")),
        format_labels(template_spec(obj).get("nodeSelector")),
        age(obj, now),
        names,
        images,
        format_label_selector(spec(obj).get("selector")),
    ]


DAEMON_SET = Printer(
    [
        name_col(),
        col("Desired", "The total number of nodes that should be running the daemon pod.", type_="integer"),
        col("Current", "The number of nodes that are running at least 1 daemon pod.", type_="integer"),
        col(
            "Ready",
            "The number of nodes that should be running the daemon pod and have one or more ready.",
            type_="integer",
        ),
        col("Up-to-date", "The total number of nodes that are running updated daemon pod", type_="integer"),
        col(
            "Available",
            "The number of nodes that should be running the daemon pod and have one or more available.",
            type_="integer",
        ),
        col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
        age_col(),
        *_wide_cols(),
    ],
    _daemon_set_row,
)

# --- batch ------------------------------------------------------------------------------------------------------


def _job_status(obj: Obj) -> str:
    conditions = status(obj).get("conditions")
    if condition_true(conditions, "Complete"):
        return "Complete"
    if condition_true(conditions, "Failed"):
        return "Failed"
    if meta(obj).get("deletionTimestamp"):
        return "Terminating"
    if condition_true(conditions, "Suspended"):
        return "Suspended"
    if condition_true(conditions, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job_row(obj: Obj, now: datetime) -> Cells:
    sp, st = spec(obj), status(obj)
    succeeded = int_of(st.get("succeeded"))
    if sp.get("completions") is not None:
        completions = f"{succeeded}/{int_of(sp.get('completions'))}"
    elif int_of(sp.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {int_of(sp.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    started = parse_time(st.get("startTime"))
    finished = parse_time(st.get("completionTime"))
    if started is None:
        duration = ""
    elif finished is None:
        duration = human_duration(as_utc(now) - started)
    else:
        duration = human_duration(finished - started)
    names, images = container_cells(template_spec(obj))
    return [
        name(obj),
        _job_status(obj),
        completions,
        duration,
        age(obj, now),
        names,
        images,
        format_label_selector(sp.get("selector")),
    ]


JOB = Printer(
    [
        name_col(),
        col("Status", "Status of the job."),
        col("Completions", "The number of pods which reached phase Succeeded."),
        col("Duration", "Time required to complete the job."),
        age_col(),
        *_wide_cols(),
    ],
    _job_row,
)


def _cron_job_row(obj: Obj, now: datetime) -> Cells:
    sp, st = spec(obj), status(obj)
    last = since(st["lastScheduleTime"], now) if st.get("lastScheduleTime") else "<none>"
    job_spec = dig(sp, "jobTemplate", "spec") or {}
    names, images = container_cells(dig(job_spec, "template", "spec"))
    return [
        name(obj),
        str(sp.get("schedule") or ""),
        sp.get("timeZone") or "<none>",
        bool_ptr(sp.get("suspend", False)),  # the apiserver defaults suspend to false
        len(st.get("active") or []),
        last,
        age(obj, now),
        names,
        images,
        format_label_selector(job_spec.get("selector")),
    ]


CRON_JOB = Printer(
    [
        name_col(),
        col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
        col(
            "Timezone",
            "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
        ),
        col(
            "Suspend",
            "This flag tells the controller to suspend subsequent executions, it does not apply to already "
            "started executions.",
            type_="boolean",
        ),
        col("Active", "A list of pointers to currently running jobs.", type_="integer"),
        col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
        age_col(),
        *_wide_cols(),
    ],
    _cron_job_row,
)

PRINTERS = {
    ("apps", "deployments"): DEPLOYMENT,
    ("apps", "replicasets"): REPLICA_SET,
    ("", "replicationcontrollers"): REPLICATION_CONTROLLER,
    ("apps", "statefulsets"): STATEFUL_SET,
    ("apps", "daemonsets"): DAEMON_SET,
    ("batch", "jobs"): JOB,
    ("batch", "cronjobs"): CRON_JOB,
}
