"""Label and field selectors: parsing, matching, canonical text and apiserver-worded errors."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import resources
from kubesim.selectors import (
    SelectorError,
    field_value,
    format_labels,
    label_selector_from_map,
    label_selector_from_spec,
    parse_field_selector,
    parse_label_selector,
    selector_from_spec_or_error,
    selector_to_string,
)

WEB = {"app": "web", "tier": "front", "version": "3"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        (None, WEB, True),
        ("", None, True),
        ("   ", {}, True),
        ("app=web", WEB, True),
        ("app==web", WEB, True),
        ("app=db", WEB, False),
        ("app!=db", WEB, True),
        ("app!=web", WEB, False),
        ("missing!=x", WEB, True),
        ("app in (web,db)", WEB, True),
        ("app in (db)", WEB, False),
        ("missing in (x)", WEB, False),
        ("app notin (db, cache)", WEB, True),
        ("app notin (web)", WEB, False),
        ("missing notin (x)", WEB, True),
        ("tier", WEB, True),
        ("missing", WEB, False),
        ("!missing", WEB, True),
        ("!app", WEB, False),
        (" app = web , tier in ( front ) , !gone ", WEB, True),
        ("app=web,tier=back", WEB, False),
        ("version>2", WEB, True),
        ("version<3", WEB, False),
        ("app>2", WEB, False),
        ("empty=", {"empty": ""}, True),
        ("empty=", WEB, False),
        ("example.com/role=x", {"example.com/role": "x"}, True),
    ],
)
def test_label_selector_matches(text: str | None, labels: dict[str, str] | None, expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("tier=front,app==web", "app=web,tier=front"),
        ("b notin (z,y),  a in (x)", "a in (x),b notin (y,z)"),
        ("!x,y,z!=1", "!x,y,z!=1"),
        ("n>3", "n>3"),
        ("a in (b,a,b)", "a in (a,b)"),
        ("", ""),
    ],
)
def test_label_selector_canonical_text(text: str, canonical: str) -> None:
    selector = parse_label_selector(text)
    assert str(selector) == canonical
    assert parse_label_selector(canonical) == selector


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in b", "found 'b', expected: '('"),
        ("a in (b", "expected: ',', ')' or identifier"),
        ("a in ()", "values set can't be empty"),
        ("a b", "found 'b', expected: '=', '!=', '==', 'in', 'notin'"),
        ("=b", "expected: '!' or identifier"),
        ("a=b,", "expected: '!' or identifier"),
        ("!", "identifier after '!'"),
        ("a=(", "expected: identifier"),
        ("a>x", "must be an integer"),
        ("bad key!=1", "found 'key', expected: '=', '!=', '==', 'in', 'notin'"),
        ("-a=b", "name part must consist of alphanumeric characters"),
        ("a=b c", "expected: ',' or 'end of string'"),
        ("a=-b", 'Invalid value: "-b": a valid label must be an empty string'),
    ],
)
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("spec", "labels", "expected", "text"),
    [
        (None, WEB, False, "<none>"),
        ({}, WEB, True, "<none>"),
        ({"matchLabels": {"app": "web"}}, WEB, True, "app=web"),
        ({"matchLabels": {"app": "db"}}, WEB, False, "app=db"),
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["b", "a"]}]},
            {"app": "a"},
            True,
            "app in (a,b)",
        ),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, WEB, False, "app notin (web)"),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, WEB, True, "tier"),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, WEB, False, "!tier"),
        (
            {"matchLabels": {"z": "1"}, "matchExpressions": [{"key": "a", "operator": "Exists"}]},
            {"z": "1", "a": ""},
            True,
            "a,z=1",
        ),
    ],
)
def test_label_selector_from_spec(
    spec: dict[str, Any] | None, labels: dict[str, str], expected: bool, text: str
) -> None:
    assert label_selector_from_spec(spec).matches(labels) is expected
    assert selector_to_string(spec) == text


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, '"Gt" is not a valid label selector'),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "values set must be empty"),
        ({"matchLabels": {"a": "not ok"}}, "a valid label must be an empty string"),
        ({"matchLabels": ["a"]}, "matchLabels must be a map"),
        ({"matchExpressions": {"key": "a"}}, "matchExpressions must be a list"),
        ({"matchExpressions": ["a"]}, "must be an object"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]}, "values must be a list"),
        ("app=web", "expected an object"),
    ],
)
def test_label_selector_from_spec_errors(spec: Any, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        label_selector_from_spec(spec)
    assert message in str(info.value)
    selector, error = selector_from_spec_or_error(spec)
    assert selector is None
    assert error is not None
    assert message in error
    assert selector_to_string(spec) == "<error>"


def test_selector_from_spec_or_error_accepts_valid_specs() -> None:
    selector, error = selector_from_spec_or_error({"matchLabels": {"app": "web"}})
    assert error is None
    assert selector is not None
    assert selector.matches(WEB)


@pytest.mark.parametrize(
    ("sel", "labels", "expected", "empty"),
    [
        (None, WEB, False, False),
        ({}, WEB, False, False),
        ({"app": "web"}, WEB, True, False),
        ({"app": "web", "tier": "back"}, WEB, False, False),
        ({"app": "web"}, None, False, False),
    ],
)
def test_label_selector_from_map(sel: dict[str, str] | None, labels: Any, expected: bool, empty: bool) -> None:
    selector = label_selector_from_map(sel)
    assert selector.matches(labels) is expected
    assert selector.empty is empty


def test_empty_flags() -> None:
    assert parse_label_selector("").empty
    assert label_selector_from_spec({}).empty
    assert not label_selector_from_spec(None).empty
    assert not parse_label_selector("a").empty


@pytest.mark.parametrize(
    ("labels", "text"),
    [(None, "<none>"), ({}, "<none>"), ({"b": "2", "a": "1"}, "a=1,b=2")],
)
def test_format_labels(labels: dict[str, str] | None, text: str) -> None:
    assert format_labels(labels) == text


# ---------------------------------------------------------------------------------------------- field selectors

POD = {
    "metadata": {"name": "web-1", "namespace": "shop"},
    "spec": {"nodeName": "node-a", "hostNetwork": False, "priority": 5},
    "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
}


def supported_fields(plural: str) -> tuple[str, ...]:
    """What the API server accepts for a resource: its field selectors in the resource table."""
    return next(r for r in resources.RESOURCES if r.plural == plural and not r.storage).field_selectors


POD_FIELDS = supported_fields("pods")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, True),
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("status.phase=Running,spec.nodeName=node-a", True),
        ("status.phase=Running,spec.nodeName=node-b", False),
        ("status.phase!=Pending", True),
        ("spec.hostNetwork=false", True),
        ("status.podIP=", True),
        ("status.podIP!=", False),
        ("metadata.namespace=shop,", True),
    ],
)
def test_field_selector_matches(text: str | None, expected: bool) -> None:
    assert parse_field_selector(text, POD_FIELDS).matches(POD) is expected


@pytest.mark.parametrize(
    ("text", "allowed", "message"),
    [
        ("spec.nodeName=a", {"metadata.name"}, "field label not supported: spec.nodeName"),
        ("status.phase", POD_FIELDS, "invalid selector: 'status.phase'; can't understand 'status.phase'"),
        ("metadata.name=a\\b", POD_FIELDS, "invalid field selector: 'metadata.name=a\\\\b': invalid escape sequence"),
        ("spec.replicas=1", POD_FIELDS, "field label not supported: spec.replicas"),
        ("=x", POD_FIELDS, "field label not supported: "),
    ],
)
def test_field_selector_errors(text: str, allowed: set[str], message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_field_selector(text, allowed)
    assert str(info.value) == message


def test_field_selector_escapes_and_exact() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b\=c,metadata.namespace!=x", POD_FIELDS)
    assert selector.exact("metadata.name") == "a,b=c"
    assert selector.exact("metadata.namespace") is None
    assert selector.matches({"metadata": {"name": "a,b=c", "namespace": "y"}})
    assert str(selector) == r"metadata.name=a\,b\=c,metadata.namespace!=x"
    assert not selector.empty
    assert parse_field_selector(None, POD_FIELDS).empty


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("metadata.name", "web-1"),
        ("status.phase", "Running"),
        ("spec.nodeName", "node-a"),
        ("spec.hostNetwork", "false"),
        ("spec.priority", "5"),
        ("spec.missing", ""),
        ("metadata.name.deeper", ""),
        ("status.conditions", ""),
        ("involvedObject.kind", ""),
    ],
)
def test_field_value(path: str, value: str) -> None:
    assert field_value(POD, path) == value


@pytest.mark.parametrize(
    ("resource", "field", "allowed"),
    [
        ("pods", "status.phase", True),
        ("pods", "metadata.name", True),
        ("events", "involvedObject.name", True),
        ("configmaps", "metadata.namespace", True),
        ("configmaps", "data.x", False),
        ("deployments", "status.phase", False),
    ],
)
def test_supported_fields(resource: str, field: str, allowed: bool) -> None:
    assert (field in supported_fields(resource)) is allowed
