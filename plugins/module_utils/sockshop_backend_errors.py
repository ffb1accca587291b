# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""What an observability backend's failure says, in one line of a signal's evidence.

Datadog answers errors as `{"errors": ["..."]}` and rate limits with 429 and its `X-RateLimit-*` headers;
Prometheus as `{"status": "error", "errorType": "...", "error": "..."}`. The line names the HTTP status, the
backend's own words and what to do; it never carries a request header (the keys travel there)."""

from __future__ import annotations

import json
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit

HINTS = {
    ("Datadog", 401): "check datadog_api_key",
    ("Datadog", 403): "check datadog_api_key and datadog_app_key, and that the application key may query",
    ("Prometheus", 400): "check the query in the incident's queries.promql",
    ("Prometheus", 422): "check the query in the incident's queries.promql",
}


def said(exc: HTTPError) -> str:
    """The backend's own error text from the body, else the HTTP reason."""
    try:
        body: Any = json.loads(exc.read() or b"null")
    except (OSError, ValueError):
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)[:300]
        if body.get("error"):
            kind = f"{body['errorType']}: " if body.get("errorType") else ""
            return f"{kind}{body['error']}"[:300]
    return str(exc.reason or "no reason given")


def retry_after_s(exc: HTTPError) -> float | None:
    """Seconds until a rate limit resets (Datadog's X-RateLimit-Reset, else Retry-After); None when not given."""
    headers: Any = exc.headers or {}
    for header in ("X-RateLimit-Reset", "Retry-After"):
        value = headers.get(header)
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            continue
    return None


def describe(exc: BaseException, backend: str) -> str:
    if not isinstance(exc, HTTPError):
        return f"{backend} not reachable: {exc}"
    where = urlsplit(exc.url or "")
    line = f"{backend} answered HTTP {exc.code} at {where.netloc}{where.path}: {said(exc)}"
    if exc.code == 429:
        headers: Any = exc.headers or {}
        limit = f"{headers.get('X-RateLimit-Limit', '?')} per {headers.get('X-RateLimit-Period', '?')} s"
        reset = retry_after_s(exc)
        wait = f"; not asked again for {reset:g} s" if reset is not None else ""
        return f"{line} (rate limited: {headers.get('X-RateLimit-Name', 'limit')} {limit}{wait})"
    hint = HINTS.get((backend, exc.code))
    return f"{line} ({hint})" if hint else line


# Why a signal may be not_checked. A backend kind (promql, alert, datadog_*) is allowed to be not_checked by the
# report's verdict only for these reasons; anything else not checked keeps the verdict from PASSED.
NOT_CONFIGURED = "backend_not_configured"  # the inventory names no such backend
NOT_DEPLOYED = "backend_not_deployed"  # the inventory names a Prometheus Service that does not exist on the target
NOT_INSTALLED = "backend_not_installed"  # its pods wait in ErrImagePull/ImagePullBackOff: it could not be installed
CHECK_MODE = "check_mode"  # check mode sent nothing that would show it
EXCUSED_NOT_CHECKED = (NOT_CONFIGURED, NOT_DEPLOYED, NOT_INSTALLED)
