"""kubesim.crd without a server: version order, pruning and defaulting, schema errors, printer JSONPaths."""

from __future__ import annotations

from kubesim import crd, resources

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "port": {"x-kubernetes-int-or-string": True},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}},
            },
        }
    },
}
RES = resources.Resource(
    "x.example.com", "v1", "things", "Thing", True, custom=crd.Served("things.x.example.com", SCHEMA)
)


def test_versions_in_kube_aware_order() -> None:
    versions = ["v1alpha1", "v1beta1", "foo", "v2", "v1", "v1beta2", "v11alpha2"]
    assert sorted(versions, key=crd.version_priority) == [
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v11alpha2",
        "v1alpha1",
        "foo",
    ]


def test_pruning_keeps_what_the_schema_knows_and_defaults_the_rest() -> None:
    obj = {
        "apiVersion": "x.example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {
            "port": "http",
            "gone": 1,
            "extra": {"anything": {"goes": True}},
            "labels": {"a": "b"},
            "items": [{"a": "x", "b": "pruned"}],
            "replicas": None,
        },
        "top": "pruned",
    }
    crd.prune(RES, obj)
    assert obj == {
        "apiVersion": "x.example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {
            "port": "http",
            "extra": {"anything": {"goes": True}},
            "labels": {"a": "b"},
            "items": [{"a": "x"}],
        },
    }
    obj = {"apiVersion": "x.example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {}}
    crd.prune(RES, obj)
    assert obj["spec"] == {"replicas": 1}


def test_schema_errors() -> None:
    obj = {"apiVersion": "x.example.com/v1", "kind": "Thing", "spec": {"port": 1.5, "labels": {"a": 1}}}
    assert crd.validate_custom(RES, obj) == [
        (
            "spec.labels.a",
            "FieldValueTypeInvalid",
            'Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
        ),
        (
            "spec.port",
            "FieldValueTypeInvalid",
            'Invalid value: "number": spec.port in body must be of type integer,string: "number"',
        ),
    ]


def test_structural_schema_errors() -> None:
    schema = {"type": "object", "properties": {"a": {}, "b": {"type": "array"}}}
    assert crd._structural(schema, "s", "root") == [
        ("s.properties[a].type", "FieldValueRequired", "Required value: must not be empty for specified object fields"),
        ("s.properties[b].items", "FieldValueRequired", "Required value: must be specified"),
    ]


def test_jsonpath() -> None:
    obj = {"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}}
    assert crd.jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert crd.jsonpath(obj, ".status.conditions[0].type") == ["A"]
    assert crd.jsonpath(obj, ".status.conditions[*].type") == ["A", "Ready"]
    assert crd.jsonpath(obj, ".spec.missing") == []
