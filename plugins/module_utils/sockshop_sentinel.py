# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""The sentinel of responder mode: a pod that probes an incident's recovery check every second.

While a responder works on an incident, the sentinel records when service came back, where the responder can
neither read nor change it: a Deployment in the incident's state namespace (which the responder's Role does not
reach) running SCRIPT below in the official Python image. Every sample is one JSON line on its stdout::

    {"at": "2026-11-23T08:24:46.123Z", "ok": true, "status": 200, "latency_s": 0.012, "detail": "authorised: ..."}

so the samples are the pod's log, kept by the kubelet (or the embedded cluster's runtime) with their times. At
grade time the engine reads that log and computes the time to mitigate: from the activation to the first of N
consecutive successful samples.

Everything here is plain Python with no Ansible and no kubernetes import: the recovery check of an incident file
(`recovery.confirm[]`, kinds `probe` and `http`) turned into the request the script sends and what makes its
answer a success (`probe_spec`), the ConfigMap and the Deployment (`manifests`), the parsing of the pod's log
(`parse_samples`) and the first run of N consecutive successes (`first_run`, `summarize`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

IMAGE = "python:3.12-slim"
MOUNT = "/sentinel"
SCRIPT_KEY = "sentinel.py"
CONTAINER = "sentinel"
MANAGED_BY = "sockshop-incidents"
ROLE = "sentinel"
DIGEST = "sockshop.io/sentinel-digest"
SUPPORTED_KINDS = ("probe", "http")
OPS = ("eq", "lt", "le", "gt", "ge")
PAYMENT_PATH = "/paymentAuth"
CONFIRM_FIELDS = {"name", "kind", "within_s", "check", "description", "hold"}
PROBE_FIELDS = {"service", "port", "amount", "timeout_s", "expect"}
PROBE_EXPECT_FIELDS = {"authorised", "classification", "message_contains", "max_latency_s", "min_latency_s"}
HTTP_FIELDS = {"service", "port", "path", "method", "status", "latency_s", "body_contains"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


class SentinelError(ValueError):
    """Input the sentinel cannot work with; the message says what is wrong and what to give instead."""


# ---------------------------------------------------------------- names and times


def sentinel_name(incident_id: str) -> str:
    """sockshop-incident-<id>-sentinel, the name of the ConfigMap, the Deployment and the pods' prefix."""
    if not isinstance(incident_id, str) or not incident_id.strip():
        raise SentinelError(f"incident_id must be an incident's id such as 6 or 6B, not {incident_id!r}")
    name = f"sockshop-incident-{incident_id.strip().lower()}-sentinel"
    if len(name) > 63 or not _DNS_LABEL.match(name):
        raise SentinelError(
            f"incident_id {incident_id!r} does not make a valid object name ({name!r}): use the incident's id, "
            "letters and digits only, such as 6 or 6B"
        )
    return name


def labels(incident_id: str) -> dict[str, str]:
    """The labels of every sentinel object and pod."""
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "sockshop.io/role": ROLE,
        "sockshop.io/incident": incident_id.strip(),
    }


def selector(incident_id: str) -> dict[str, str]:
    """The Deployment's selector: the sentinel of this incident (one per incident in the state namespace)."""
    return {"sockshop.io/role": ROLE, "sockshop.io/incident": incident_id.strip()}


def parse_time(text: Any, what: str = "since") -> dt.datetime:
    """An RFC 3339 / ISO-8601 time (2026-11-23T08:24:46.123Z); an offset is honoured, none means UTC."""
    match = _ISO.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise SentinelError(
            f"{what} must be an ISO-8601 UTC time such as 2026-11-23T08:24:46.000Z (the activation's), not {text!r}"
        )
    base, fraction, zone = match.groups()
    try:
        moment = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise SentinelError(f"{what} {text!r} is not a date and time that exists") from None
    if fraction:
        moment = moment.replace(microsecond=int((fraction[1:] + "000000")[:6]))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
        return moment.replace(tzinfo=dt.timezone(sign * offset)).astimezone(dt.UTC)
    return moment.replace(tzinfo=dt.UTC)


def iso(moment: dt.datetime) -> str:
    """UTC with milliseconds and a Z, as the sentinel writes its samples' times."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- the recovery check as a request


def _number(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SentinelError(f"{where} must be a number, not {value!r}")
    if positive and value <= 0:
        raise SentinelError(f"{where} must be above 0, not {value!r}")
    return float(value)


def _port(check: dict[str, Any]) -> int:
    port = check.get("port", 80)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise SentinelError(f"check.port must be a port number (1-65535), not {port!r}")
    return port


def _service(check: dict[str, Any]) -> str:
    service = check.get("service")
    if not isinstance(service, str) or not _DNS_LABEL.match(service):
        raise SentinelError(f"check.service must name a Service (a DNS label such as payment), not {service!r}")
    return service


def _unknown(given: dict[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(given) - known)
    if extra:
        raise SentinelError(f"{where} has unknown field(s) {', '.join(extra)}; it takes {', '.join(sorted(known))}")


def _amount(value: Any) -> float:
    """The amount rounded to cents half-up, as payment_probe sends it (50 -> 50.0, 19.999 -> 20.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SentinelError(f"check.amount must be an amount of money such as 50.00, not {value!r}")
    try:
        amount = Decimal(str(value).strip().removeprefix("$"))
    except InvalidOperation:
        raise SentinelError(f"check.amount must be an amount of money such as 50.00, not {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise SentinelError(f"check.amount must be above 0, not {value!r}")
    return float(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _probe(check: dict[str, Any], target_namespace: str) -> dict[str, Any]:
    """A payment authorisation, as payment_probe sends it: POST /paymentAuth {"amount": ...} to the Service."""
    _unknown(check, PROBE_FIELDS, "check (kind probe)")
    service, port = _service(check), _port(check)
    if "amount" not in check:
        raise SentinelError("check.amount is required for kind probe: the amount to authorise, such as 50.00")
    expect = check.get("expect") or {}
    if not isinstance(expect, dict):
        raise SentinelError(f"check.expect must be a mapping such as {{authorised: true}}, not {expect!r}")
    _unknown(expect, PROBE_EXPECT_FIELDS, "check.expect")
    authorised = expect.get("authorised", True)
    if not isinstance(authorised, bool):
        raise SentinelError(f"check.expect.authorised must be true or false, not {authorised!r}")
    classification = expect.get("classification")
    if classification is not None and (classification != "authorised" or not authorised):
        raise SentinelError(
            f"check.expect.classification {classification!r} with authorised={str(authorised).lower()} is not a "
            "recovery: the sentinel confirms one by an authorised payment (authorised: true, classification "
            "authorised, or no classification)"
        )
    success: dict[str, Any] = {"authorised": authorised, "latency": []}
    contains = expect.get("message_contains")
    if contains is not None:
        if not isinstance(contains, str) or not contains:
            raise SentinelError(f"check.expect.message_contains must be a non-empty string, not {contains!r}")
        success["message_contains"] = contains
    if expect.get("max_latency_s") is not None:
        success["latency"].append(["le", _number(expect["max_latency_s"], "check.expect.max_latency_s")])
    if expect.get("min_latency_s") is not None:
        success["latency"].append(["ge", _number(expect["min_latency_s"], "check.expect.min_latency_s")])
    return {
        "kind": "probe",
        "method": "POST",
        "url": f"http://{service}.{target_namespace}.svc:{port}{PAYMENT_PATH}",
        "headers": {"Content-Type": "application/json", "Accept": "application/json"},
        "body": json.dumps({"amount": _amount(check["amount"])}),
        "success": success,
    }


def _http(check: dict[str, Any], target_namespace: str) -> dict[str, Any]:
    """One HTTP request to the Service, as incident_signals' http kind judges it (status, latency_s, body)."""
    _unknown(check, HTTP_FIELDS, "check (kind http)")
    service, port = _service(check), _port(check)
    path = check.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise SentinelError(f"check.path must be a path starting with /, such as /catalogue, not {path!r}")
    method = str(check.get("method") or "GET").upper()
    if method not in ("GET", "POST"):
        raise SentinelError(f"check.method must be GET or POST, not {check.get('method')!r}")
    success: dict[str, Any] = {"latency": []}
    statuses = check.get("status")
    if statuses is not None:
        if (
            not isinstance(statuses, list)
            or not statuses
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in statuses)
        ):
            raise SentinelError(f"check.status must be a non-empty list of HTTP status codes, not {statuses!r}")
        success["status"] = list(statuses)
    rule = check.get("latency_s")
    if rule is not None:
        if not isinstance(rule, dict) or set(rule) != {"op", "value"} or rule["op"] not in OPS:
            raise SentinelError(f"check.latency_s must be {{op, value}} with op one of {', '.join(OPS)}, not {rule!r}")
        success["latency"].append([rule["op"], _number(rule["value"], "check.latency_s.value")])
    contains = check.get("body_contains")
    if contains is not None:
        if not isinstance(contains, str) or not contains:
            raise SentinelError(f"check.body_contains must be a non-empty string, not {contains!r}")
        success["body_contains"] = contains
    return {
        "kind": "http",
        "method": method,
        "url": f"http://{service}.{target_namespace}.svc:{port}{path}",
        "headers": {},
        "body": None,
        "success": success,
    }


def probe_spec(confirm: Any, target_namespace: str) -> dict[str, Any]:
    """What the sentinel sends and what makes the answer a success, from one `recovery.confirm` entry of an
    incident file ({name, kind, within_s, check}). The Service is reached by its cluster DNS name
    <service>.<target_namespace>.svc, as any pod of any namespace reaches it."""
    if not isinstance(confirm, dict):
        raise SentinelError(
            f"check must be one recovery.confirm entry {{name, kind, within_s, check}}, not {confirm!r}"
        )
    _unknown(confirm, CONFIRM_FIELDS, "check")
    if not isinstance(target_namespace, str) or not _DNS_LABEL.match(target_namespace):
        raise SentinelError(f"target_namespace must be a namespace name, not {target_namespace!r}")
    kind = confirm.get("kind")
    if kind not in SUPPORTED_KINDS:
        raise SentinelError(
            f"a sentinel cannot probe a recovery check of kind {kind!r}: it supports {' and '.join(SUPPORTED_KINDS)} "
            "(a payment authorisation, an HTTP request to a Service); pick such an entry of recovery.confirm"
        )
    check = confirm.get("check")
    if not isinstance(check, dict):
        raise SentinelError(f"check.check must be the mapping of the {kind} check, not {check!r}")
    spec = _probe(check, target_namespace) if kind == "probe" else _http(check, target_namespace)
    name = confirm.get("name")
    if not isinstance(name, str) or not name:
        raise SentinelError(f"check.name must name the recovery check, not {name!r}")
    return {"name": name, **spec}


# ---------------------------------------------------------------- the objects


def manifests(
    incident_id: str,
    namespace: str,
    target_namespace: str,
    confirm: Any,
    *,
    interval_s: float = 1.0,
    timeout_s: float = 2.0,
    image: str = IMAGE,
) -> list[dict[str, Any]]:
    """The ConfigMap holding SCRIPT and the Deployment that runs it, in creation order.

    Every object (and the pod template) carries the digest of what the sentinel does, so a second `present` with
    the same check finds nothing to change, and a different check rolls the sentinel out anew."""
    name = sentinel_name(incident_id)
    if not isinstance(namespace, str) or not _DNS_LABEL.match(namespace):
        raise SentinelError(f"namespace must be the state namespace's name, not {namespace!r}")
    interval = _number(interval_s, "interval_s", positive=True)
    timeout = _number(timeout_s, "timeout_s", positive=True)
    if interval > 60:
        raise SentinelError(
            f"interval_s must be 60 or less (the sentinel samples about every second), not {interval:g}"
        )
    spec = probe_spec(confirm, target_namespace)
    env = {
        "SENTINEL_CHECK": json.dumps(spec, sort_keys=True),
        "SENTINEL_INTERVAL_S": f"{interval:g}",
        "SENTINEL_TIMEOUT_S": f"{timeout:g}",
        "PYTHONUNBUFFERED": "1",
    }
    tags = labels(incident_id)
    container = {
        "name": CONTAINER,
        "image": image,
        "command": ["python3", f"{MOUNT}/{SCRIPT_KEY}"],
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "script", "mountPath": MOUNT, "readOnly": True}],
        # It reads its script and writes stdout, nothing else: what a restricted namespace admits.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    configmap: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(tags)},
        "data": {SCRIPT_KEY: SCRIPT},
    }
    deployment: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(tags)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(incident_id)},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": dict(tags)},
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": "script", "configMap": {"name": name}}],
                    "terminationGracePeriodSeconds": 5,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                },
            },
        },
    }
    digest = digest_of([configmap, deployment])
    for obj in (configmap, deployment, deployment["spec"]["template"]):
        obj["metadata"]["annotations"] = {DIGEST: digest}
    return [configmap, deployment]


def digest_of(objects: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()[:16]


def differs(live: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Whether a live object is not the wanted one: another digest, or (a Deployment) scaled away from 1."""
    if live is None:
        return True
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    if annotations.get(DIGEST) != wanted["metadata"]["annotations"][DIGEST]:
        return True
    return wanted["kind"] == "Deployment" and (live.get("spec") or {}).get("replicas") != 1


# ---------------------------------------------------------------- the samples


def _sample(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text:
        return None
    if not text.startswith("{"):  # a log read with timestamps: "<RFC3339Nano> <line>"
        text = text.partition(" ")[2].strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("ok"), bool):
        return None
    try:
        moment = parse_time(doc.get("at"), "at")
    except SentinelError:
        return None
    status, latency = doc.get("status"), doc.get("latency_s")
    return {
        "at": iso(moment),
        "ok": doc["ok"],
        "status": status if isinstance(status, int) and not isinstance(status, bool) else None,
        "latency_s": latency if isinstance(latency, int | float) and not isinstance(latency, bool) else None,
        "detail": str(doc.get("detail", "")),
    }


def parse_samples(log: str) -> list[dict[str, Any]]:
    """The samples of a sentinel's log, in order; lines that are not a sample (a traceback, a log line of the
    runtime, a half-written line) are skipped. A timestamp prefix (a log read with timestamps=true) is dropped."""
    samples = []
    for line in (log or "").splitlines():
        sample = _sample(line)
        if sample is not None:
            samples.append(sample)
    return samples


def merge(*logs: str) -> list[dict[str, Any]]:
    """The samples of several logs (a restarted container's previous log, a rolled-out pod's) in time order."""
    samples = [sample for log in logs for sample in parse_samples(log)]
    return sorted(samples, key=lambda s: s["at"])  # ISO UTC with ms and Z: the text sorts as the time


def first_run(
    samples: list[dict[str, Any]], consecutive: int, since: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The first sample of the first run of `consecutive` ok samples among those at or after `since`, or None.

    A failed sample breaks a run; samples before `since` neither start nor break one."""
    if isinstance(consecutive, bool) or not isinstance(consecutive, int) or consecutive < 1:
        raise SentinelError(f"consecutive must be a whole number of samples, 1 or more, not {consecutive!r}")
    run: list[dict[str, Any]] = []
    for sample in samples:
        if since is not None and parse_time(sample["at"], "at") < since:
            continue
        if not sample["ok"]:
            run = []
            continue
        run.append(sample)
        if len(run) == consecutive:
            return run[0]
    return None


def summarize(samples: list[dict[str, Any]], consecutive: int, since: str | None = None) -> dict[str, Any]:
    """What `state=read` returns: counts and bounds of every sample, and when service came back.

    mitigated_at is the time of the first sample of the first run of `consecutive` ok samples at or after `since`
    (every sample without `since`); ttm_s is mitigated_at - since in seconds, rounded to 0.1 (null without since
    or when service never came back)."""
    start = parse_time(since) if since is not None and since != "" else None
    found = first_run(samples, consecutive, start)
    mitigated_at = found["at"] if found else None
    ttm = None
    if found is not None and start is not None:
        ttm = round((parse_time(found["at"], "at") - start).total_seconds(), 1)
    ok = sum(1 for s in samples if s["ok"])
    return {
        "samples": len(samples),
        "successes": ok,
        "failures": len(samples) - ok,
        "first_at": samples[0]["at"] if samples else None,
        "last_at": samples[-1]["at"] if samples else None,
        "mitigated_at": mitigated_at,
        "ttm_s": ttm,
        "last": samples[-1] if samples else None,
    }


# ---------------------------------------------------------------- the program the pod runs

SCRIPT = r'''"""The incident sentinel (sockshop-incidents): probes one recovery check every interval and prints one JSON
line per sample: {"at", "ok", "status", "latency_s", "detail"}. Standard library only.

Environment: SENTINEL_CHECK (JSON: url, method, headers, body, kind, success), SENTINEL_INTERVAL_S,
SENTINEL_TIMEOUT_S. The time of a sample is when its request was sent (UTC, milliseconds).
"""

import datetime
import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request

READ_LIMIT = 65536
OPS = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
# Cluster DNS names only: never through a proxy the environment may name.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def utc_now():
    moment = datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def reason_of(exc, timeout):
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout: no answer within %gs" % timeout
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "dns: %s" % (exc.strerror or exc)
    if isinstance(exc, str):
        return exc
    return "%s: %s" % (type(exc).__name__, exc)


def send(check, timeout):
    """(HTTP status or None, body, error or None) of one request."""
    body = check.get("body")
    request = urllib.request.Request(
        check["url"],
        data=None if body is None else body.encode(),
        method=check["method"],
        headers=check.get("headers") or {},
    )
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read(READ_LIMIT), None
    except urllib.error.HTTPError as exc:
        try:
            text = exc.read(READ_LIMIT)
        except Exception:
            text = b""
        return exc.code, text, None
    except urllib.error.URLError as exc:
        return None, b"", reason_of(exc.reason, timeout)
    except Exception as exc:
        return None, b"", reason_of(exc, timeout)


def short(text, size=100):
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[: size - 3] + "..."


def judge(check, status, body, latency, error):
    """(ok, detail) of one answer."""
    if error:
        return False, error
    want = check["success"]
    text = body.decode("utf-8", "replace")
    if check["kind"] == "probe":
        if status != 200:
            return False, short("HTTP %s: %s" % (status, text))
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("authorised"), bool):
            return False, short("not a payment result: " + text)
        message = str(doc.get("message", ""))
        if doc["authorised"] != want["authorised"]:
            return False, short("authorised=%s: %s" % (str(doc["authorised"]).lower(), message))
        wanted = want.get("message_contains")
        if wanted and wanted.lower() not in message.lower():
            return False, short("message lacks %r: %s" % (wanted, message))
        detail = "authorised: " if doc["authorised"] else "declined: "
        detail += message
    else:
        statuses = want.get("status")
        if statuses and status not in statuses:
            return False, short("HTTP %s (want %s): %s" % (status, " or ".join(map(str, statuses)), text))
        wanted = want.get("body_contains")
        if wanted and wanted not in text:
            return False, short("HTTP %s, body lacks %r" % (status, wanted))
        detail = "HTTP %s" % status
    for op, value in want.get("latency") or []:
        if not OPS[op](latency, value):
            return False, short("%s, latency %.3fs not %s %g" % (detail, latency, op, value))
    return True, short(detail)


def sample(check, timeout):
    at = utc_now()
    start = time.monotonic()
    try:
        status, body, error = send(check, timeout)
        latency = time.monotonic() - start
        ok, detail = judge(check, status, body, latency, error)
    except Exception as exc:  # the sentinel keeps sampling, whatever one probe does
        status, latency = None, time.monotonic() - start
        ok, detail = False, short("sentinel error: %s: %s" % (type(exc).__name__, exc))
    return {"at": at, "ok": ok, "status": status, "latency_s": round(latency, 3), "detail": detail}


def main():
    # PID 1 of a container ignores SIGTERM unless it handles it: stop at once when the pod is deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    check = json.loads(os.environ["SENTINEL_CHECK"])
    interval = float(os.environ.get("SENTINEL_INTERVAL_S", "1"))
    timeout = float(os.environ.get("SENTINEL_TIMEOUT_S", "2"))
    next_at = time.monotonic()
    while True:
        print(json.dumps(sample(check, timeout)), flush=True)
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:  # a slow answer: sample again at once, and keep the cadence from now
            next_at = time.monotonic()


if __name__ == "__main__":
    main()
'''
