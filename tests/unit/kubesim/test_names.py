"""Name and label validation in Kubernetes wording, generated names and pod-template hashes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kubesim.names import (
    SAFE_ALPHABET,
    field_error,
    generate_name,
    generate_name_suffix,
    pod_template_hash,
    validate_dns1035_label,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_label_key,
    validate_label_value,
    validate_labels,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
    "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, "
    "and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
    "'[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
QUALIFIED_MSG = (
    "a qualified name"
    + NAME_PART_MSG.removeprefix("name part")
    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
)
VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("front-end", []),
        ("carts.db-1", []),
        ("a" * 253, []),
        ("a" * 254, ["must be no more than 253 characters"]),
        ("Front", [SUBDOMAIN_MSG]),
        ("-web", [SUBDOMAIN_MSG]),
        ("web.", [SUBDOMAIN_MSG]),
        ("under_score", [SUBDOMAIN_MSG]),
        ("", [SUBDOMAIN_MSG]),
    ],
)
def test_validate_dns1123_subdomain(name: str, errors: list[str]) -> None:
    assert validate_dns1123_subdomain(name) == errors


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("sock-shop", []),
        ("1abc", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("a.b", [LABEL_MSG]),
        ("web-", [LABEL_MSG]),
        ("A" * 64, ["must be no more than 63 characters", LABEL_MSG]),
    ],
)
def test_validate_dns1123_label(name: str, errors: list[str]) -> None:
    assert validate_dns1123_label(name) == errors


@pytest.mark.parametrize(("name", "errors"), [("carts", []), ("1carts", [DNS1035_MSG]), ("a-", [DNS1035_MSG])])
def test_validate_dns1035_label(name: str, errors: list[str]) -> None:
    assert validate_dns1035_label(name) == errors


@pytest.mark.parametrize(
    ("key", "errors"),
    [
        ("app", []),
        ("app.kubernetes.io/name", []),
        ("My_Key.1", []),
        ("-app", [NAME_PART_MSG]),
        ("a" * 64, ["name part must be no more than 63 characters"]),
        ("", ["name part must be non-empty"]),
        ("example.com/", ["name part must be non-empty"]),
        ("/name", ["prefix part must be non-empty"]),
        ("Example.com/name", ["prefix part " + SUBDOMAIN_MSG]),
        ("a/b/c", [QUALIFIED_MSG]),
    ],
)
def test_validate_label_key(key: str, errors: list[str]) -> None:
    assert validate_label_key(key) == errors


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("", []),
        ("v1.2_3-x", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("-x", [VALUE_MSG]),
        ("x y", [VALUE_MSG]),
    ],
)
def test_validate_label_value(value: str, errors: list[str]) -> None:
    assert validate_label_value(value) == errors


@pytest.mark.parametrize(
    ("labels", "errors"),
    [
        (None, []),
        ({"app": "web", "example.com/tier": ""}, []),
        ({"bad key": "x"}, [f'Invalid value: "bad key": {NAME_PART_MSG}']),
        ({"app": "no good"}, [f'Invalid value: "no good": {VALUE_MSG}']),
        ({"app": 3}, ["Invalid value: 3: label values must be strings"]),
    ],
)
def test_validate_labels(labels: dict[str, Any] | None, errors: list[str]) -> None:
    assert validate_labels(labels) == errors


def test_field_error_reads_like_the_apiserver() -> None:
    assert field_error("metadata.name", "Web", "bad") == 'metadata.name: Invalid value: "Web": bad'


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_generate_name_suffix(seed: int) -> None:
    suffix = generate_name_suffix(random.Random(seed))
    assert len(suffix) == 5
    assert set(suffix) <= set(SAFE_ALPHABET)
    assert suffix == generate_name_suffix(random.Random(seed))


@pytest.mark.parametrize(("base", "prefix"), [("web-", "web-"), ("x" * 70, "x" * 58)])
def test_generate_name(base: str, prefix: str) -> None:
    name = generate_name(base, random.Random(3))
    assert name.startswith(prefix)
    assert len(name) == len(prefix) + 5
    assert not validate_dns1123_subdomain(name)


TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}
REORDERED = {"spec": {"containers": [{"image": "nginx:1", "name": "web"}]}, "metadata": {"labels": {"app": "web"}}}


def test_pod_template_hash_ignores_key_order_and_tracks_content() -> None:
    first = pod_template_hash(TEMPLATE)
    assert first == pod_template_hash(REORDERED)
    assert 8 <= len(first) <= 10
    assert set(first) <= set(SAFE_ALPHABET)
    changed = {**TEMPLATE, "spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}
    assert pod_template_hash(changed) != first
    assert pod_template_hash(TEMPLATE, 1) != first
    assert pod_template_hash(TEMPLATE, 1) == pod_template_hash(REORDERED, 1)


@pytest.mark.parametrize("template", [{}, {"a": 1}, {"spec": {"x": [1, 2, 3]}}, {"b": "ü"}])
def test_pod_template_hash_shape(template: dict[str, Any]) -> None:
    value = pod_template_hash(template)
    assert 8 <= len(value) <= 10
    assert set(value) <= set(SAFE_ALPHABET)


def test_pod_template_hash_rejects_negative_collision_count() -> None:
    with pytest.raises(ValueError):
        pod_template_hash(TEMPLATE, -1)
