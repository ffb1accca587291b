"""API errors, answered as `Status` objects with the reasons clients branch on."""

from __future__ import annotations

from typing import Any

from kubesim.resources import Resource


class APIError(Exception):
    """An error the API server answers with a `Status` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(res: Resource, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return details


def not_found(res: Resource, name: str) -> APIError:
    return APIError(404, "NotFound", f'{res.group_resource} "{name}" not found', _details(res, name))


def already_exists(res: Resource, name: str) -> APIError:
    return APIError(409, "AlreadyExists", f'{res.group_resource} "{name}" already exists', _details(res, name))


def conflict(res: Resource, name: str, why: str) -> APIError:
    return APIError(
        409, "Conflict", f'Operation cannot be fulfilled on {res.group_resource} "{name}": {why}', _details(res, name)
    )


def stale(res: Resource, name: str) -> APIError:
    return conflict(
        res, name, "the object has been modified; please apply your changes to the latest version and try again"
    )


def invalid(res: Resource, name: str, causes: list[tuple[str, str]]) -> APIError:
    """422 Invalid: causes are (field, message) pairs, worded like the apiserver's field errors."""
    text = "; ".join(f"{f}: {m}" if f else m for f, m in causes)
    details = _details(res, name)
    details["kind"] = res.kind
    details["causes"] = [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]
    return APIError(422, "Invalid", f'{res.kind} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> APIError:
    return APIError(405, "MethodNotAllowed", message)


def unsupported_media(content_type: str, *, custom: bool = False) -> APIError:
    if custom:  # a custom resource's PATCH: no strategic merge (negotiation.NewUnsupportedMediaTypeError)
        return APIError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        )
    return APIError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted "
        f"media types include: application/json, application/yaml, "
        f"application/json-patch+json, application/merge-patch+json, "
        f"application/strategic-merge-patch+json, "
        f'application/apply-patch+yaml (got "{content_type}")',
    )


def path_not_found() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> APIError:
    return APIError(410, "Expired", message)


def service_unavailable(message: str) -> APIError:
    return APIError(503, "ServiceUnavailable", message)


def forbidden_terminating(res: Resource, name: str, namespace: str) -> APIError:
    return APIError(
        403,
        "Forbidden",
        f'{res.group_resource} "{name}" is forbidden: unable to create new content '
        f"in namespace {namespace} because it is being terminated",
        _details(res, name),
    )


def forbidden(message: str, details: dict[str, Any]) -> APIError:
    """403 Forbidden, as the RBAC authorizer's refusal reads."""
    return APIError(403, "Forbidden", message, details or None)
