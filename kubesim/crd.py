"""CustomResourceDefinitions and the custom resources they define, as apiextensions-apiserver serves them.

- A CRD (`apiextensions.k8s.io/v1`) is defaulted and validated as the apiserver does the parts clients meet:
  `metadata.name` must be `<plural>.<group>`, a group with a dot, DNS-1035 names, scope, exactly one storage
  version, a structural `openAPIV3Schema` for every served version (v1 prunes, so a schema is required),
  printer columns. The CRD controller (kubesim/controllers/crd.py) then accepts its names (`NamesAccepted`)
  and establishes it (`Established`); deleting it marks it `Terminating` with the cleanup finalizer, and the
  controller deletes its objects before the finalizer goes.
- :func:`watch` keeps `resources` serving one Resource per served version of every established CRD, so
  discovery, the REST handlers, watch, the garbage collector and namespace deletion see custom resources as they
  see built-ins. The Resource's `custom` is its :class:`Served` (schema, columns, scale paths).
- Custom resources are defaulted (`default`), pruned (unknown fields go unless
  `x-kubernetes-preserve-unknown-fields`) and validated against the version's schema (types, required, enum,
  bounds, patterns), with the apiserver's 422 `Kind.group "name" is invalid: ...` and typed causes; `kubectl
  get` prints their `additionalPrinterColumns` (Name and Age otherwise).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubesim import errors, names, resources
from kubesim.resources import Resource
from kubesim.store import Change, Store
from kubesim.tables._util import CREATED_DOC, NAME_DOC, Printer, human_duration, parse_time

CRDS = resources.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
# (field, cause type, message body): one field error as apimachinery's field.Error carries it
FieldError = tuple[str, str, str]
REQUIRED, INVALID, NOT_SUPPORTED, TYPE_INVALID, FORBIDDEN = (
    "FieldValueRequired",
    "FieldValueInvalid",
    "FieldValueNotSupported",
    "FieldValueTypeInvalid",
    "FieldValueForbidden",
)
_PREFIX = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    TYPE_INVALID: "Invalid value",
    FORBIDDEN: "Forbidden",
}


@dataclass(frozen=True)
class Served:
    """What one served version of a CRD says about its objects."""

    crd: str
    schema: dict[str, Any] = field(default_factory=dict)
    columns: tuple[dict[str, Any], ...] = ()
    scale: dict[str, Any] | None = None
    terminating: bool = False


# ---- errors ---------------------------------------------------------------------------------------------
def go_value(value: Any) -> str:
    """A value as field.Error prints it (%q for strings, %v for numbers and booleans, JSON otherwise)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def required(path: str, detail: str = "") -> FieldError:
    return (path, REQUIRED, f"Required value: {detail}" if detail else "Required value")


def invalid_field(path: str, value: Any, detail: str, kind: str = INVALID) -> FieldError:
    return (path, kind, f"Invalid value: {go_value(value)}: {detail}")


def not_supported(path: str, value: Any, allowed: list[str]) -> FieldError:
    return (
        path,
        NOT_SUPPORTED,
        f"Unsupported value: {go_value(value)}: supported values: " + ", ".join(json.dumps(a) for a in allowed),
    )


def forbidden(path: str, detail: str) -> FieldError:
    return (path, FORBIDDEN, f"Forbidden: {detail}")


def from_causes(causes: list[tuple[str, str]]) -> list[FieldError]:
    """admission's (field, message) pairs as typed field errors (the type read from the message's opening)."""
    out = []
    for path, message in causes:
        kind = next((k for k, p in _PREFIX.items() if message.startswith(p) and k != TYPE_INVALID), INVALID)
        out.append((path, kind, message))
    return out


def invalid(group: str, kind: str, name: str, errs: list[FieldError]) -> errors.APIError:
    """apierrors.NewInvalid: `Kind.group "name" is invalid: <one error>` or `[e1, e2]`, typed causes."""
    lines = [f"{f}: {m}" if f else m for f, _, m in errs]
    text = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
    qualified = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind}
    details["causes"] = [{"reason": t, "message": m, "field": f} for f, t, m in errs]
    if not group:
        details.pop("group")
    return errors.APIError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


# ---- versions --------------------------------------------------------------------------------------------
_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in kube-aware order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others."""
    m = _KUBE_VERSION.match(version)
    if not m:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), version)


# ---- CRD defaulting and validation -------------------------------------------------------------------------
def default_crd(obj: dict[str, Any]) -> None:
    """SetDefaults for apiextensions.k8s.io/v1 CustomResourceDefinition (in place)."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    crd_names = spec.setdefault("names", {})
    if isinstance(crd_names, dict):
        if not crd_names.get("singular") and isinstance(crd_names.get("kind"), str):
            crd_names["singular"] = crd_names["kind"].lower()
        if not crd_names.get("listKind") and crd_names.get("kind"):
            crd_names["listKind"] = f"{crd_names['kind']}List"
    spec.setdefault("conversion", {"strategy": "None"})
    status = obj.setdefault("status", {})
    status.setdefault("acceptedNames", {"kind": "", "plural": ""})
    status.setdefault("conditions", [])
    storage = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")]
    stored = status.setdefault("storedVersions", [])
    for name in storage:
        if name not in stored:
            stored.append(name)


_PRINTER_TYPES = ("boolean", "date", "integer", "number", "string")
_PRINTER_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")


def _versions_value(versions: list[Any]) -> str:
    parts = [
        f'apiextensions.CustomResourceDefinitionVersion{{Name:"{v.get("name", "")}", '
        f"Served:{str(bool(v.get('served'))).lower()}, Storage:{str(bool(v.get('storage'))).lower()}, ...}}"
        for v in versions
        if isinstance(v, dict)
    ]
    return "[]apiextensions.CustomResourceDefinitionVersion{" + ", ".join(parts) + "}"


def validate_crd(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """ValidateCustomResourceDefinition (and ...Update when `old` is given): the field errors clients meet."""
    errs: list[FieldError] = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    crd_names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    assert isinstance(crd_names, dict)
    group, plural = str(spec.get("group") or ""), str(crd_names.get("plural") or "")
    name = (obj.get("metadata") or {}).get("name") or ""
    if name and name != f"{plural}.{group}":
        errs.append(invalid_field("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        errs.append(required("spec.group"))
    elif names.validate_dns1123_subdomain(group):
        errs.append(invalid_field("spec.group", group, ",".join(names.validate_dns1123_subdomain(group))))
    elif "." not in group:
        errs.append(invalid_field("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errs.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        errs.append(not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    seen: set[str] = set()
    unique = True
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        vname = str(version.get("name") or "")
        unique = unique and vname not in seen
        seen.add(vname)
        for detail in names.validate_dns1035_label(vname):
            errs.append(invalid_field(f"{path}.name", vname, detail))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if version.get("served") and not isinstance(schema, dict):
            errs.append(required(f"{path}.schema.openAPIV3Schema", "because otherwise all fields are pruned"))
        elif isinstance(schema, dict):
            errs.extend(_structural(schema, f"{path}.schema.openAPIV3Schema", "root"))
        for j, column in enumerate(version.get("additionalPrinterColumns") or []):
            errs.extend(
                _validate_column(column if isinstance(column, dict) else {}, f"{path}.additionalPrinterColumns[{j}]")
            )
    if not unique:
        errs.append(
            (
                "spec.versions",
                INVALID,
                f"Invalid value: {_versions_value(versions)}: must contain unique version names",
            )
        )
    if sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(
            (
                "spec.versions",
                INVALID,
                f"Invalid value: {_versions_value(versions)}: must have exactly one version marked as storage version",
            )
        )
    for key in ("plural", "singular", "kind", "listKind"):
        if not crd_names.get(key):
            errs.append(required(f"spec.names.{key}"))
    for key in ("plural", "singular"):
        value = str(crd_names.get(key) or "")
        if value and names.validate_dns1035_label(value):
            errs.append(invalid_field(f"spec.names.{key}", value, ",".join(names.validate_dns1035_label(value))))
    for key in ("kind", "listKind"):
        value = str(crd_names.get(key) or "")
        if value and names.validate_dns1035_label(value.lower()):
            detail = "may have mixed case, but should otherwise match: " + ",".join(
                names.validate_dns1035_label(value.lower())
            )
            errs.append(invalid_field(f"spec.names.{key}", value, detail))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(crd_names.get(key) or []):
            if names.validate_dns1035_label(str(value)):
                errs.append(
                    invalid_field(f"spec.names.{key}[{i}]", value, ",".join(names.validate_dns1035_label(str(value))))
                )
    if crd_names.get("kind") and crd_names.get("kind") == crd_names.get("listKind"):
        errs.append(
            invalid_field("spec.names.listKind", crd_names["listKind"], "kind and listKind may not be the same")
        )
    if old is not None:
        old_spec = old.get("spec") or {}
        for path, new_value, old_value in (
            ("spec.group", spec.get("group"), old_spec.get("group")),
            ("spec.names.plural", crd_names.get("plural"), (old_spec.get("names") or {}).get("plural")),
        ):
            if new_value != old_value:
                errs.append(invalid_field(path, new_value, "field is immutable"))
        if established(old):
            for path, new_value, old_value in (
                ("spec.scope", spec.get("scope"), old_spec.get("scope")),
                ("spec.names.kind", crd_names.get("kind"), (old_spec.get("names") or {}).get("kind")),
            ):
                if new_value != old_value:
                    errs.append(invalid_field(path, new_value, "field is immutable"))
    return errs


def _validate_column(column: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not column.get("name"):
        errs.append(required(f"{path}.name"))
    ctype = column.get("type") or ""
    if not ctype:
        errs.append(required(f"{path}.type", "must be one of " + ",".join(_PRINTER_TYPES)))
    elif ctype not in _PRINTER_TYPES:
        errs.append(invalid_field(f"{path}.type", ctype, "must be one of " + ",".join(_PRINTER_TYPES)))
    if column.get("format") and column["format"] not in _PRINTER_FORMATS:
        errs.append(invalid_field(f"{path}.format", column["format"], "must be one of " + ",".join(_PRINTER_FORMATS)))
    if not column.get("jsonPath"):
        errs.append(required(f"{path}.JSONPath"))
    return errs


def _structural(schema: dict[str, Any], path: str, level: str) -> list[FieldError]:
    """ValidateStructural's errors clients meet: every specified node has a type, arrays have items."""
    errs: list[FieldError] = []
    stype = schema.get("type") or ""
    if (
        not stype
        and not schema.get("x-kubernetes-int-or-string")
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        detail = {
            "root": "must not be empty at the root",
            "item": "must not be empty for specified array items",
            "field": "must not be empty for specified object fields",
        }[level]
        errs.append(required(f"{path}.type", detail))
    if level == "root" and stype and stype != "object":
        errs.append(invalid_field(f"{path}.type", stype, "must be object at the root"))
    if stype == "array" and not isinstance(schema.get("items"), dict):
        errs.append(required(f"{path}.items", "must be specified"))
    extra = schema.get("additionalProperties")
    if schema.get("properties") and extra is not None and extra is not True:
        errs.append(
            forbidden(f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive")
        )
    if schema.get("uniqueItems") is True:
        errs.append(
            forbidden(
                f"{path}.uniqueItems",
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        )
    for key, sub in sorted((schema.get("properties") or {}).items()):
        if isinstance(sub, dict) and not (level == "root" and key == "metadata"):
            errs.extend(_structural(sub, f"{path}.properties[{key}]", "field"))
    if isinstance(schema.get("items"), dict):
        errs.extend(_structural(schema["items"], f"{path}.items", "item"))
    if isinstance(schema.get("additionalProperties"), dict):
        errs.extend(_structural(schema["additionalProperties"], f"{path}.additionalProperties", "field"))
    return errs


# ---- status and the served resources -----------------------------------------------------------------------
def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def established(obj: dict[str, Any]) -> bool:
    cond = condition(obj, "Established")
    return cond is not None and cond.get("status") == "True"


def set_condition(obj: dict[str, Any], ctype: str, status: str, *, reason: str, message: str, now: str) -> None:
    """SetCRDCondition: the transition time changes only with the status."""
    conds = obj.setdefault("status", {}).setdefault("conditions", [])
    for cond in conds:
        if cond.get("type") == ctype:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now
            cond.update(status=status, reason=reason, message=message)
            return
    conds.append({"type": ctype, "status": status, "lastTransitionTime": now, "reason": reason, "message": message})


def mark_deleting(obj: dict[str, Any], now: str) -> None:
    """What the CRD registry's Delete does first: the cleanup finalizer and the Terminating condition."""
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if CLEANUP_FINALIZER not in finalizers:
        finalizers.append(CLEANUP_FINALIZER)
    set_condition(
        obj,
        "Terminating",
        "True",
        reason="InstanceDeletionPending",
        message="CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        now=now,
    )


def served_resources(crds: list[dict[str, Any]]) -> tuple[Resource, ...]:
    """One Resource per served version of each established CRD, groups' versions in kube-aware order."""
    out: list[Resource] = []
    for crd in crds:
        if not established(crd):
            continue
        spec = crd["spec"]
        accepted = (crd.get("status") or {}).get("acceptedNames") or spec["names"]
        group, plural = spec["group"], accepted.get("plural") or spec["names"]["plural"]
        terminating = bool(crd["metadata"].get("deletionTimestamp"))
        served = [v for v in spec.get("versions") or [] if v.get("served")]
        # The version that owns the objects' storage key: the storage version, or the first served one when the
        # storage version is not served (the versions share the stored objects; there is no conversion).
        owner = next((v for v in served if v.get("storage")), served[0] if served else None)
        for version in served:
            subs = version.get("subresources") or {}
            out.append(
                Resource(
                    group,
                    version["name"],
                    plural,
                    accepted.get("kind") or spec["names"]["kind"],
                    spec.get("scope") == "Namespaced",
                    short_names=tuple(accepted.get("shortNames") or ()),
                    categories=tuple(accepted.get("categories") or ()),
                    singular=accepted.get("singular") or spec["names"]["kind"].lower(),
                    subresources=tuple(s for s in ("status", "scale") if s in subs),
                    has_status="status" in subs,
                    tracks_generation=True,
                    storage="" if version is owner else f"{group}/{plural}",
                    custom=Served(
                        crd=crd["metadata"]["name"],
                        schema=(version.get("schema") or {}).get("openAPIV3Schema") or {},
                        columns=tuple(version.get("additionalPrinterColumns") or ()),
                        scale=subs.get("scale"),
                        terminating=terminating,
                    ),
                )
            )
    out.sort(key=lambda r: (r.group, version_priority(r.version), r.plural))
    return tuple(out)


def watch(store: Store) -> None:
    """Serve the custom resources of `store`'s established CRDs, and keep serving them as CRDs change."""

    def reload(change: Change | None = None) -> None:
        if change is None or change.key == CRDS.key:
            resources.set_custom(served_resources(store.scan(CRDS.key)))

    reload()
    store.subscribe(reload)


def resource_of(crd: dict[str, Any]) -> Resource | None:
    """The storage version's Resource of a CRD being served."""
    for res in resources.all_resources():
        if res.custom is not None and res.custom.crd == crd["metadata"]["name"] and not res.storage:
            return res
    return None


# ---- custom resources: defaulting, pruning, validation -----------------------------------------------------
_META_KEYS = ("apiVersion", "kind", "metadata")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _prune(value: Any, schema: dict[str, Any], root: bool = False) -> None:
    """Defaults, then pruning of unknown fields and of nulls the schema does not allow (in place)."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        for key, sub in props.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                value[key] = json.loads(json.dumps(sub["default"]))
        for key in list(value):
            if root and key in _META_KEYS:
                continue
            sub = props.get(key) if key in props else additional if isinstance(additional, dict) else None
            if sub is None:
                if not (
                    preserve
                    or additional is True
                    or (schema.get("x-kubernetes-embedded-resource") and key in _META_KEYS)
                ):
                    del value[key]
                continue
            if value[key] is None and not sub.get("nullable"):
                del value[key]
                continue
            _prune(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _prune(item, schema["items"])


def prune(res: Resource, obj: dict[str, Any]) -> None:
    """Default and prune a custom resource to its version's structural schema."""
    schema = res.custom.schema if res.custom is not None else {}
    if schema:
        _prune(obj, schema, root=True)


def _type_ok(value: Any, schema: dict[str, Any]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    stype = schema.get("type")
    actual = _json_type(value)
    if not stype or actual == stype:
        return True
    if stype == "number" and actual == "integer":
        return True
    return stype == "integer" and actual == "number" and float(value).is_integer()


def _walk(value: Any, schema: dict[str, Any], path: str, errs: list[FieldError]) -> None:
    """kube-openapi's schema validator, the checks that matter to clients, worded as it words them."""
    shown = path or "."
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            errs.append(
                invalid_field(path, "null", f'{shown} in body must be of type {schema["type"]}: "null"', TYPE_INVALID)
            )
        return
    if not _type_ok(value, schema):
        actual = _json_type(value)
        wanted = "integer,string" if schema.get("x-kubernetes-int-or-string") else schema.get("type")
        errs.append(invalid_field(path, actual, f'{shown} in body must be of type {wanted}: "{actual}"', TYPE_INVALID))
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        errs.append(not_supported(path, value, [e if isinstance(e, str) else json.dumps(e) for e in enum]))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema:
            limit, exclusive = schema["maximum"], schema.get("exclusiveMaximum")
            if value > limit or (exclusive and value == limit):
                word = "less than" if exclusive else "less than or equal to"
                errs.append(invalid_field(path, value, f"{shown} in body should be {word} {limit}"))
        if "minimum" in schema:
            limit, exclusive = schema["minimum"], schema.get("exclusiveMinimum")
            if value < limit or (exclusive and value == limit):
                word = "greater than" if exclusive else "greater than or equal to"
                errs.append(invalid_field(path, value, f"{shown} in body should be {word} {limit}"))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append(
                invalid_field(path, value, f"{shown} in body should be at least {schema['minLength']} chars long")
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append((path, "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes"))
        if schema.get("pattern") and not re.search(schema["pattern"], value):
            errs.append(invalid_field(path, value, f"{shown} in body should match '{schema['pattern']}'"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errs.append(invalid_field(path, value, f"{shown} in body should have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append(
                (path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most {schema['maxItems']} items")
            )
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                _walk(item, schema["items"], f"{path}[{i}]", errs)
    if isinstance(value, dict):
        for key in schema.get("required") or []:
            if key not in value:
                errs.append(required(f"{path}.{key}" if path else key))
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in sorted(value):
            if not path and key in _META_KEYS:
                continue
            sub = props.get(key) if key in props else additional if isinstance(additional, dict) else None
            if isinstance(sub, dict):
                _walk(value[key], sub, f"{path}.{key}" if path else key, errs)


def validate_custom(res: Resource, obj: dict[str, Any]) -> list[FieldError]:
    schema = res.custom.schema if res.custom is not None else {}
    errs: list[FieldError] = []
    for key in ("apiVersion", "kind"):
        if not obj.get(key):
            errs.append(required(key))
    if schema:
        _walk(obj, schema, "", errs)
    return errs


def check(res: Resource, obj: dict[str, Any], causes: list[tuple[str, str]], old: dict[str, Any] | None = None) -> None:
    """Raise the apiserver's 422 when a CRD or a custom resource (or admission's generic checks) has errors."""
    if res.custom is not None:
        errs = from_causes(causes) + validate_custom(res, obj)
    else:
        errs = from_causes(causes) + validate_crd(obj, old)
    if errs:
        raise invalid(res.group, res.kind, (obj.get("metadata") or {}).get("name") or "", errs)


# ---- scale subresource ------------------------------------------------------------------------------------------
def _path_parts(path: str) -> list[str]:
    return [p for p in path.lstrip(".").split(".") if p]


def _get(obj: Any, path: str) -> Any:
    for part in _path_parts(path):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def scale_of(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale of a custom resource, read through the CRD's scale paths."""
    paths = res.custom.scale or {}
    meta = obj["metadata"]
    status: dict[str, Any] = {"replicas": _get(obj, paths.get("statusReplicasPath", ".status.replicas")) or 0}
    selector = _get(obj, paths["labelSelectorPath"]) if paths.get("labelSelectorPath") else None
    if isinstance(selector, str) and selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": _get(obj, paths.get("specReplicasPath", ".spec.replicas")) or 0},
        "status": status,
    }


def set_replicas(res: Resource, obj: dict[str, Any], replicas: int) -> None:
    parts = _path_parts((res.custom.scale or {}).get("specReplicasPath", ".spec.replicas"))
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = replicas


# ---- Table output ------------------------------------------------------------------------------------------------
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\?\(@\.([\w.-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]|\[\*\]")


def jsonpath(obj: Any, path: str) -> list[Any]:
    """The values a simple JSONPath (`.a.b`, `[0]`, `[*]`, `[?(@.type=="Ready")]`) finds in `obj`."""
    values = [obj]
    pos = 0
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            return []
        pos = m.end()
        nxt: list[Any] = []
        for v in values:
            if m.group(1) is not None:
                if isinstance(v, dict) and m.group(1) in v:
                    nxt.append(v[m.group(1)])
            elif m.group(2) is not None:
                i = int(m.group(2))
                if isinstance(v, list) and i < len(v):
                    nxt.append(v[i])
            elif m.group(3) is not None:
                if isinstance(v, list):
                    nxt.extend(
                        item for item in v if isinstance(item, dict) and str(_get(item, m.group(3))) == m.group(4)
                    )
            elif isinstance(v, list):
                nxt.extend(v)
        values = nxt
    return values


def _cell(ctype: str, value: Any, now: datetime) -> Any:
    if ctype == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if ctype == "date":
        stamp = parse_time(value) if isinstance(value, str) else None
        return human_duration(now - stamp) if stamp else None
    if ctype == "integer":
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if ctype == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if ctype == "boolean":
        return value if isinstance(value, bool) else None
    return value


_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": CREATED_DOC}


def printer(res: Resource) -> Printer:
    """The CRD's table convertor: Name, then its additionalPrinterColumns (Age when it declares none)."""
    declared = list(res.custom.columns) or [_AGE]
    columns = [{"name": "Name", "type": "string", "format": "name", "description": NAME_DOC, "priority": 0}]
    for c in declared:
        ctype = c.get("type", "string")
        columns.append(
            {
                "name": c.get("name", ""),
                "type": ctype,
                "format": c.get("format", ""),
                "description": c.get("description")
                or f"Custom resource definition column (in JSONPath format): {c.get('jsonPath', '')}",
                "priority": int(c.get("priority", 0)),
            }
        )

    def row(obj: Any, now: datetime) -> list[Any]:
        when = now if now.tzinfo else now.replace(tzinfo=UTC)
        cells: list[Any] = [obj["metadata"]["name"]]
        for c in declared:
            found = jsonpath(obj, c.get("jsonPath", ""))
            cells.append(_cell(c.get("type", "string"), found[0], when) if found else None)
        return cells

    return Printer(columns, row)


def printer_for(res: Resource) -> Printer | None:
    return printer(res) if res.custom is not None else None
