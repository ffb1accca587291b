"""Name and label validation in Kubernetes' own wording, generated names and pod-template hashes.

Validators return a list of detail messages (empty when valid), worded as the apiserver words them, so a
422 ``Invalid`` body can say ``metadata.name: Invalid value: "Foo": <detail>`` (:func:`field_error` builds that
line, :func:`invalid_value` the StatusCause message without the field). :func:`validate_labels` returns
StatusCause messages for the field ``metadata.labels``. Nothing here keeps state or does I/O.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

# Kubernetes' "safe" alphabet: no vowels (no accidental words) and no look-alike characters.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
GENERATED_SUFFIX_LENGTH = 5
MAX_GENERATED_NAME_LENGTH = 63 - GENERATED_SUFFIX_LENGTH

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)


def _regex_msg(what: str, examples: tuple[str, ...], fmt: str) -> str:
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{what} (e.g. {shown}, regex used for validation is '{fmt}')"


_DNS1123_LABEL_MSG = _regex_msg(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    ("my-name", "123-abc"),
    _DNS1123_LABEL_FMT,
)
_DNS1123_SUBDOMAIN_MSG = _regex_msg(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character",
    ("example.com",),
    _DNS1123_SUBDOMAIN_FMT,
)
_DNS1035_LABEL_MSG = _regex_msg(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character",
    ("my-name", "abc-123"),
    _DNS1035_LABEL_FMT,
)
_QUALIFIED_NAME_CHARS = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_PART_MSG = _regex_msg(
    "name part " + _QUALIFIED_NAME_CHARS, ("MyName", "my.name", "123-abc"), _QUALIFIED_NAME_FMT
)
_QUALIFIED_NAME_MSG = (
    _regex_msg("a qualified name " + _QUALIFIED_NAME_CHARS, ("MyName", "my.name", "123-abc"), _QUALIFIED_NAME_FMT)
    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
)
_LABEL_VALUE_MSG = _regex_msg(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character",
    ("MyValue", "my_value", "12345"),
    _LABEL_VALUE_FMT,
)


def _max_len_msg(limit: int) -> str:
    return f"must be no more than {limit} characters"


def invalid_value(value: object, detail: str) -> str:
    """A StatusCause message for a bad value: ``Invalid value: "Foo": <detail>``."""
    shown = json.dumps(value) if isinstance(value, str) else repr(value)
    return f"Invalid value: {shown}: {detail}"


def field_error(path: str, value: object, detail: str) -> str:
    """One full error line as the apiserver prints it: ``metadata.name: Invalid value: "Foo": <detail>``."""
    return f"{path}: {invalid_value(value, detail)}"


def validate_dns1123_label(name: str) -> list[str]:
    """Namespaces and most Service-like names: at most 63 lower-case alphanumerics or '-'."""
    errs: list[str] = []
    if len(name) > DNS1123_LABEL_MAX:
        errs.append(_max_len_msg(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL_RE.fullmatch(name):
        errs.append(_DNS1123_LABEL_MSG)
    return errs


def validate_dns1035_label(name: str) -> list[str]:
    """Service names proper: like a DNS-1123 label but must start with a letter."""
    errs: list[str] = []
    if len(name) > DNS1123_LABEL_MAX:
        errs.append(_max_len_msg(DNS1123_LABEL_MAX))
    if not _DNS1035_LABEL_RE.fullmatch(name):
        errs.append(_DNS1035_LABEL_MSG)
    return errs


def validate_dns1123_subdomain(name: str) -> list[str]:
    """Most object names (Deployments, Pods, ConfigMaps...): dotted DNS labels, at most 253 chars."""
    errs: list[str] = []
    if len(name) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_max_len_msg(DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(name):
        errs.append(_DNS1123_SUBDOMAIN_MSG)
    return errs


def validate_label_key(key: str) -> list[str]:
    """A label or annotation key: ``[prefix/]name`` with a DNS-subdomain prefix and a 63-char name."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + msg for msg in validate_dns1123_subdomain(prefix))
    else:
        return [_QUALIFIED_NAME_MSG]
    if not name:
        errs.append("name part must be non-empty")
        return errs
    if len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + _max_len_msg(QUALIFIED_NAME_MAX))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errs.append(_QUALIFIED_NAME_PART_MSG)
    return errs


def validate_label_value(value: str) -> list[str]:
    """A label value: empty, or at most 63 alphanumerics, '-', '_' or '.' starting and ending alphanumeric."""
    errs: list[str] = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(_max_len_msg(LABEL_VALUE_MAX))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(_LABEL_VALUE_MSG)
    return errs


def validate_labels(labels: Mapping[str, Any] | None) -> list[str]:
    """StatusCause messages (``Invalid value: "<key or value>": <detail>``, field ``metadata.labels``) for every
    bad key or value of a label map."""
    errs: list[str] = []
    for key, value in (labels or {}).items():
        if not isinstance(key, str):
            errs.append(invalid_value(key, "label keys must be strings"))
            continue
        errs.extend(invalid_value(key, msg) for msg in validate_label_key(key))
        if not isinstance(value, str):
            errs.append(invalid_value(value, "label values must be strings"))
            continue
        errs.extend(invalid_value(value, msg) for msg in validate_label_value(value))
    return errs


def generate_name_suffix(rng: random.Random) -> str:
    """Five random characters of :data:`SAFE_ALPHABET`, as ``metadata.generateName`` appends."""
    return "".join(rng.choice(SAFE_ALPHABET) for _ in range(GENERATED_SUFFIX_LENGTH))


def generate_name(base: str, rng: random.Random) -> str:
    """``generateName`` expansion: the base cut to 58 characters plus a random 5-character suffix."""
    return base[:MAX_GENERATED_NAME_LENGTH] + generate_name_suffix(rng)


_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def _fnv32a(data: bytes) -> int:
    h = _FNV32_OFFSET
    for byte in data:
        h ^= byte
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def pod_template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    """Stable ``pod-template-hash`` for a pod template: FNV-1a over its canonical JSON (plus the collision count),
    the decimal digits then mapped onto :data:`SAFE_ALPHABET`. 8 to 10 characters; key order never matters."""
    if collision_count < 0:
        raise ValueError(f"collision_count must be >= 0, got {collision_count}")
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = canonical.encode()
    if collision_count:
        data += collision_count.to_bytes(8, "little", signed=False)
    digits = str(_fnv32a(data)).zfill(8)
    return "".join(SAFE_ALPHABET[ord(d) % len(SAFE_ALPHABET)] for d in digits)
