#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see pyproject.toml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: payment_probe
short_description: Ask the Sock Shop payment service to authorise a payment and classify the answer
description:
  - 'Sends C(POST /paymentAuth) with C({"amount": <amount>}) (plus optional card, customer and address)
    to the payment Service through the Kubernetes API service proxy
    (C(/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/paymentAuth)), so it works the same on KIND,
    a remote cluster and the embedded local cluster, with no port-forward.'
  - Classifies the outcome as one of C(authorised), C(declined), C(connection_refused), C(no_endpoints),
    C(timeout), C(dns), C(http_5xx), C(bad_response).
  - With O(expect), probes repeatedly (every O(interval_s)) until the answer matches or O(budget_s) runs out,
    and fails naming what was expected and what came back.
  - A probe never changes cluster state, so the module always reports C(changed=false). Each probe that
    is sent is a real payment authorisation against the gateway behind the payment service (stripe-mock
    or the local stand-in); in check mode nothing is sent.
  - Connection options (kubeconfig, context, token, certificates) behave as in M(kubernetes.core.k8s_scale).
author:
  - sockshop-incidents maintainers
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace of the payment Service.
    type: str
    default: sock-shop
  service:
    description: Name of the payment Service.
    type: str
    default: payment
  port:
    description: Service port (number or name) the proxy should use.
    type: str
    default: "80"
  path:
    description: Path of the authorisation endpoint on the service.
    type: str
    default: /paymentAuth
  amount:
    description:
      - Amount in dollars, a number or a numeric string; sent rounded to cents (half-up).
    type: raw
    default: 50.00
  card:
    description: Card object to send with the request.
    type: dict
  customer:
    description: Customer object to send with the request.
    type: dict
  address:
    description: Address object to send with the request.
    type: dict
  timeout:
    description: Seconds to wait for one answer before classifying the attempt as C(timeout).
    type: float
    default: 10
  expect:
    description:
      - What the answer must look like. When given, the module retries until every listed field holds,
        or fails when O(budget_s) runs out.
    type: dict
    suboptions:
      authorised:
        description: Required value of C(authorised).
        type: bool
      classification:
        description: Required classification.
        type: str
        choices: [authorised, declined, connection_refused, no_endpoints, timeout, dns, http_5xx, bad_response]
      message_contains:
        description: Text the message must contain (case-insensitive).
        type: str
      max_latency_s:
        description: Largest acceptable latency in seconds.
        type: float
      min_latency_s:
        description: Smallest acceptable latency in seconds (a decline that comes only after a timeout upstream).
        type: float
  budget_s:
    description: Seconds to keep retrying for O(expect). Ignored without O(expect).
    type: float
    default: 60
  interval_s:
    description: Seconds between attempts while waiting for O(expect).
    type: float
    default: 1
requirements:
  - "python >= 3.11"
  - "kubernetes >= 24.2.0"
notes:
  - The identity in the kubeconfig needs C(create) on C(services/proxy) in O(namespace).
  - Supports check mode; in check mode no request is sent and the result has C(skipped=true).
"""

EXAMPLES = r"""
- name: Payments are declined with connection refused while stripe-mock is down (INCIDENT-6)
  payment_probe:
    context: kind-sockshop
    amount: 50.00
    expect:
      authorised: false
      classification: connection_refused
      max_latency_s: 5
    budget_s: 30
  register: probe

- name: Show how long the signal took to appear
  ansible.builtin.debug:
    msg: "{{ probe.message }} after {{ probe.time_to_expect_s }}s"

- name: One probe, whatever it answers
  payment_probe:
    kubeconfig: "{{ playbook_dir }}/../.cluster/kubeconfig"
    amount: "19.99"
  register: once
"""

RETURN = r"""
authorised:
  description: The C(authorised) field of the answer; false when there was no usable answer.
  returned: when a probe was sent
  type: bool
  sample: false
message:
  description: The service's message, the proxy's Status message, or what went wrong.
  returned: when a probe was sent
  type: str
  sample: >-
    Payment gateway error: Post "http://stripe-mock/v1/charges":
    dial tcp 10.96.196.183:80: connect: connection refused
http_status:
  description: HTTP status of the last answer; null on timeout.
  returned: when a probe was sent
  type: int
  sample: 200
latency_s:
  description: Seconds the last attempt took, 3 decimals.
  returned: when a probe was sent
  type: float
  sample: 0.212
classification:
  description: One of authorised, declined, connection_refused, no_endpoints, timeout, dns, http_5xx, bad_response.
  returned: when a probe was sent
  type: str
  sample: connection_refused
attempts:
  description: Number of probes sent.
  returned: always
  type: int
  sample: 1
body:
  description: The last answer, parsed JSON when it was JSON, else its text.
  returned: when a probe was sent
  type: raw
  sample: {"authorised": false, "message": "Payment gateway error: ..."}
time_to_expect_s:
  description: Seconds from the first probe until an answer matched O(expect).
  returned: when O(expect) is given and met
  type: float
  sample: 3.104
answered_at:
  description: When the last answer came (UTC), the moment the expectation held when one is given.
  returned: success, not in check mode
  type: str
  sample: "2026-11-23T08:26:51.512Z"
amount:
  description: Amount sent, two decimals.
  returned: always
  type: str
  sample: "50.00"
skipped:
  description: True in check mode, where no payment is sent.
  returned: check mode
  type: bool
  sample: true
"""

import json
import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils.sockshop_module import Connect, ModuleError, cluster_spec, iso, main_of, utc_now
from ansible.module_utils.sockshop_money import MoneyError, jsonable, money, money_str
from ansible.module_utils.sockshop_service_proxy import ProxyResponse, ProxyTimeout, call_service, status_message

CLASSIFICATIONS = (
    "authorised",
    "declined",
    "connection_refused",
    "no_endpoints",
    "timeout",
    "dns",
    "http_5xx",
    "bad_response",
)

ARGUMENT_SPEC = cluster_spec(
    {
        "namespace": {"type": "str", "default": "sock-shop"},
        "service": {"type": "str", "default": "payment"},
        "port": {"type": "str", "default": "80"},
        "path": {"type": "str", "default": "/paymentAuth"},
        "amount": {"type": "raw", "default": 50.00},
        "card": {"type": "dict"},
        "customer": {"type": "dict"},
        "address": {"type": "dict"},
        "timeout": {"type": "float", "default": 10},
        "expect": {
            "type": "dict",
            "options": {
                "authorised": {"type": "bool"},
                "classification": {"type": "str", "choices": list(CLASSIFICATIONS)},
                "message_contains": {"type": "str"},
                "max_latency_s": {"type": "float"},
                "min_latency_s": {"type": "float"},
            },
        },
        "budget_s": {"type": "float", "default": 60},
        "interval_s": {"type": "float", "default": 1},
    }
)


# One probe: (request body, timeout_s) -> the answer, or ProxyTimeout.
Send = Callable[[Any, float], ProxyResponse]


class ProbeError(ModuleError):
    """The probe could not run, or its expectation was not met; ``partial`` is the last answer."""


def classify_message(message: str) -> str:
    """Class of an ``authorised: false`` answer from the payment service's own message."""
    text = message.lower()
    if "connection refused" in text:
        return "connection_refused"
    if "deadline exceeded" in text or "timeout" in text or "timed out" in text:
        return "timeout"
    if "no such host" in text:
        return "dns"
    if "payment gateway unavailable (http 5" in text:
        return "http_5xx"
    return "declined"


def classify(status: int, body: bytes) -> tuple[str, bool, str, Any]:
    """(classification, authorised, message, parsed body) for one HTTP answer through the proxy."""
    text = body.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if status == 200:
        if isinstance(doc, dict) and isinstance(doc.get("authorised"), bool):
            message = str(doc.get("message", ""))
            if doc["authorised"]:
                return "authorised", True, message, doc
            return classify_message(message), False, message, doc
        return "bad_response", False, "answer is not a payment result: " + text[:200], doc if doc is not None else text
    proxy_message = status_message(body)
    if isinstance(doc, dict) and proxy_message is None:
        message = str(doc.get("message") or doc.get("error") or text[:200])
    else:
        message = proxy_message if proxy_message is not None else text[:200]
    parsed = doc if doc is not None else text
    if status == 503 and proxy_message is not None and "no endpoints available" in proxy_message:
        return "no_endpoints", False, message, parsed
    if 500 <= status <= 599:
        return "http_5xx", False, message or f"HTTP {status}", parsed
    return "bad_response", False, f"HTTP {status}: {message}", parsed


def build_request(
    amount: Any,
    card: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
    address: dict[str, Any] | None = None,
) -> Any:
    """The JSON body of ``POST /paymentAuth``; the amount is rounded to cents."""
    request: dict[str, Any] = {"amount": money(amount)}
    for key, value in (("card", card), ("customer", customer), ("address", address)):
        if value:
            request[key] = value
    return jsonable(request)


def probe_once(send: Send, request: Any, timeout: float) -> dict[str, Any]:
    """Send one probe; ``send(request, timeout)`` returns a ProxyResponse or raises ProxyTimeout."""
    try:
        response = send(request, timeout)
    except ProxyTimeout as exc:
        return {
            "authorised": False,
            "message": f"no answer within {timeout:g}s",
            "http_status": None,
            "latency_s": round(exc.elapsed_s, 3),
            "classification": "timeout",
            "body": None,
        }
    classification, authorised, message, body = classify(response.status, response.body)
    return {
        "authorised": authorised,
        "message": message,
        "http_status": response.status,
        "latency_s": round(response.elapsed_s, 3),
        "classification": classification,
        "body": body,
    }


def unmet(result: dict[str, Any], expect: dict[str, Any]) -> list[str]:
    """The parts of ``expect`` the result does not satisfy, as readable strings (empty when met)."""
    misses = []
    if expect.get("authorised") is not None and result["authorised"] != expect["authorised"]:
        misses.append(f"authorised={str(expect['authorised']).lower()}")
    if expect.get("classification") and result["classification"] != expect["classification"]:
        misses.append(f"classification={expect['classification']}")
    wanted = expect.get("message_contains")
    if wanted and wanted.lower() not in (result["message"] or "").lower():
        misses.append(f"message containing {wanted!r}")
    limit = expect.get("max_latency_s")
    if limit is not None and result["latency_s"] > limit:
        misses.append(f"latency <= {limit:g}s")
    floor = expect.get("min_latency_s")
    if floor is not None and result["latency_s"] < floor:
        misses.append(f"latency >= {floor:g}s")
    return misses


def describe_expect(expect: dict[str, Any]) -> str:
    parts = []
    if expect.get("authorised") is not None:
        parts.append(f"authorised={str(expect['authorised']).lower()}")
    if expect.get("classification"):
        parts.append(f"classification={expect['classification']}")
    if expect.get("message_contains"):
        parts.append(f"message containing {expect['message_contains']!r}")
    if expect.get("max_latency_s") is not None:
        parts.append(f"latency <= {expect['max_latency_s']:g}s")
    if expect.get("min_latency_s") is not None:
        parts.append(f"latency >= {expect['min_latency_s']:g}s")
    return ", ".join(parts) or "any answer"


def run_probe(
    send: Send,
    request: Any,
    timeout: float,
    *,
    expect: dict[str, Any] | None = None,
    budget_s: float = 60.0,
    interval_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Probe once, or until ``expect`` holds within ``budget_s``. Returns the result dict.

    Raises ProbeError (carrying the last result) when the expectation is not met in time.
    Cluster-level failures (ClusterUnreachable, ProxyAccessDenied) propagate at once.
    """
    expect = {key: value for key, value in (expect or {}).items() if value is not None}
    start = clock()
    attempts = 0
    while True:
        remaining = budget_s - (clock() - start)
        attempt_timeout = min(timeout, remaining) if expect and remaining > 0 else timeout
        result = probe_once(send, request, attempt_timeout)
        attempts += 1
        result["attempts"] = attempts
        if not expect:
            return result
        misses = unmet(result, expect)
        if not misses:
            result["time_to_expect_s"] = round(clock() - start, 3)
            return result
        elapsed = clock() - start
        if elapsed + interval_s >= budget_s:
            raise ProbeError(
                f"expected {describe_expect(expect)} within {budget_s:g}s; after {attempts} attempt(s) "
                f"({elapsed:.1f}s) the last answer was classification={result['classification']}, "
                f"authorised={str(result['authorised']).lower()}, http_status={result['http_status']}, "
                f"latency {result['latency_s']}s, message {result['message']!r} (not {', '.join(misses)}). "
                "Check the incident state, or raise budget_s if the signal is just slow.",
                **result,
            )
        sleep(interval_s)


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    try:
        amount = money(params["amount"])
    except MoneyError as exc:
        raise ProbeError(f"amount: {exc}; give a number of dollars such as 50.00") from None
    request = build_request(amount, params["card"], params["customer"], params["address"])
    common = {"changed": False, "amount": money_str(amount)}
    if check_mode:
        return dict(
            common,
            skipped=True,
            attempts=0,
            msg=(
                f"check mode: no payment sent (a probe authorises a real charge of ${money_str(amount)}) to "
                f"{params['namespace']}/{params['service']}:{params['port']}{params['path']}"
            ),
        )
    client = connect()

    def send(body: Any, timeout: float) -> ProxyResponse:
        return call_service(
            client,
            params["namespace"],
            params["service"],
            params["port"],
            params["path"],
            method="POST",
            body=body,
            timeout=timeout,
        )

    result = run_probe(
        send,
        request,
        params["timeout"],
        expect=params["expect"],
        budget_s=params["budget_s"],
        interval_s=params["interval_s"],
    )
    return dict(common, **result, answered_at=iso(utc_now()))


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
