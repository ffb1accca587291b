"""kubesim.protobuf: decoding the protobuf request bodies kubectl's typed clients send.

The fixtures under tests/fixtures/protobuf are real bodies captured from kubectl 1.32 (`k132-*`) and 1.37
(`k137-*`) by `capture.py`; each `.json` next to a `.bin` is kubectl's own Go JSON rendering of the same
object (`--dry-run=client -o json`), so the decoder is checked against Go's mapping, not against itself.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from kubesim.protobuf import MAGIC, ProtobufError, decode, go_duration, is_protobuf
from kubesim.protobuf.kinds import KINDS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "protobuf"
MANIFEST: dict[str, dict[str, str]] = json.loads((FIXTURES / "manifest.json").read_text())
BINARIES = sorted(p.stem for p in FIXTURES.glob("*.bin"))
WITH_GO_JSON = [name for name in BINARIES if (FIXTURES / f"{name}.json").exists()]
PREFIXES = ["k132", "k137"]


def load(name: str) -> dict[str, Any]:
    return decode((FIXTURES / f"{name}.bin").read_bytes())


# --- a tiny encoder for hand-built messages ---------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def vf(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def lf(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def f64(number: int, value: float) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<d", value)


def f32(number: int, raw: bytes) -> bytes:
    return varint(number << 3 | 5) + raw


def entry(key: str, value: bytes | str) -> bytes:
    return lf(1, key) + lf(2, value)


def envelope(api_version: str, kind: str, raw: bytes, *, extra: bytes = b"") -> bytes:
    return MAGIC + lf(1, lf(1, api_version) + lf(2, kind)) + lf(2, raw) + extra


def meta(name: str, **more: bytes) -> bytes:
    return lf(1, lf(1, name) + b"".join(more.values()))


# --- real kubectl payloads -------------------------------------------------------------------------------


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("name", WITH_GO_JSON)
def test_matches_gos_own_json(name: str) -> None:
    expected = _without_nulls(json.loads((FIXTURES / f"{name}.json").read_text()))  # null == absent
    if expected.get("status") == {}:
        del expected["status"]
    assert decode((FIXTURES / f"{name}.bin").read_bytes()) == expected


@pytest.mark.parametrize("name", BINARIES)
def test_every_fixture_was_sent_as_protobuf(name: str) -> None:
    assert is_protobuf(MANIFEST[name]["content_type"])
    assert MANIFEST[name]["method"] == "POST"
    obj = load(name)
    assert obj["apiVersion"] and obj["kind"]
    assert "creationTimestamp" not in obj.get("metadata", {})


def test_fixture_set_is_complete() -> None:
    assert len(WITH_GO_JSON) >= 40
    for prefix in PREFIXES:
        for name in ("namespace", "deployment", "deployment-zero", "configmap", "secret", "serviceaccount", "job"):
            assert f"{prefix}-{name}" in BINARIES
    # What kubectl sends as JSON instead (documented by the capture): run, expose, delete options, patches.
    for name in ("pod", "expose", "delete", "delete-grace", "scale", "scale-current", "label"):
        assert not is_protobuf(MANIFEST[f"k137-{name}"]["content_type"])


@pytest.mark.parametrize("prefix", PREFIXES)
def test_namespace(prefix: str) -> None:
    assert load(f"{prefix}-namespace") == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "smoke"},
        "spec": {},
    }


@pytest.mark.parametrize("prefix", PREFIXES)
def test_deployment(prefix: str) -> None:
    obj = load(f"{prefix}-deployment")
    assert (obj["apiVersion"], obj["kind"]) == ("apps/v1", "Deployment")
    assert obj["metadata"] == {"name": "web", "labels": {"app": "web"}}
    spec = obj["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["template"]["metadata"] == {"labels": {"app": "web"}}
    assert spec["strategy"] == {}
    (container,) = spec["template"]["spec"]["containers"]
    assert container == {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}], "resources": {}}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_deployment_with_zero_replicas_keeps_the_zero(prefix: str) -> None:
    spec = load(f"{prefix}-deployment-zero")["spec"]
    assert "replicas" in spec
    assert spec["replicas"] == 0
    assert spec["template"]["spec"]["containers"][0]["image"] == "x"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_deployment_with_two_images(prefix: str) -> None:
    containers = load(f"{prefix}-deployment-multi")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("busybox", "busybox"), ("nginx", "nginx:1.27")]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_configmaps(prefix: str) -> None:
    assert load(f"{prefix}-configmap")["data"] == {"a": "b", "empty": ""}
    binary = load(f"{prefix}-configmap-binary")
    assert binary["data"] == {"note.txt": "hello\n"}
    assert base64.b64decode(binary["binaryData"]["blob"]) == bytes(range(256))


@pytest.mark.parametrize("prefix", PREFIXES)
def test_secrets_carry_base64_values(prefix: str) -> None:
    secret = load(f"{prefix}-secret")
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"k": "dg=="}
    assert base64.b64decode(secret["data"]["k"]) == b"v"
    docker = load(f"{prefix}-secret-docker")
    assert docker["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(docker["data"][".dockerconfigjson"]))
    assert config["auths"]["r.example"]["username"] == "u"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_serviceaccount(prefix: str) -> None:
    assert load(f"{prefix}-serviceaccount") == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "sa"},
    }


@pytest.mark.parametrize("prefix", PREFIXES)
def test_job_and_cronjob(prefix: str) -> None:
    job = load(f"{prefix}-job")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["command"] == ["echo", "hi"]
    cronjob = load(f"{prefix}-cronjob")
    assert cronjob["spec"]["schedule"] == "*/1 * * * *"
    assert cronjob["spec"]["jobTemplate"]["metadata"] == {"name": "cj"}
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]
    manual = load(f"{prefix}-job-from-cronjob")
    (owner,) = manual["metadata"]["ownerReferences"]
    assert owner == {"apiVersion": "batch/v1", "kind": "CronJob", "name": "cj", "uid": "", "controller": True}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_services_and_intstr_target_ports(prefix: str) -> None:
    spec = load(f"{prefix}-service")["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["selector"] == {"app": "svc"}
    assert spec["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]
    assert isinstance(spec["ports"][0]["targetPort"], int)
    nodeport = load(f"{prefix}-service-nodeport")["spec"]
    assert nodeport["ports"][0]["targetPort"] == "https"
    assert nodeport["ports"][0]["nodePort"] == 30080
    external = load(f"{prefix}-service-externalname")["spec"]
    assert (external["type"], external["externalName"]) == ("ExternalName", "db.example")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_rbac(prefix: str) -> None:
    role = load(f"{prefix}-role")
    assert role["rules"] == [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
        {"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"]},
    ]
    binding = load(f"{prefix}-rolebinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}
    assert {"kind": "ServiceAccount", "name": "sa", "namespace": "smoke"} in binding["subjects"]
    assert load(f"{prefix}-clusterrole")["rules"] == [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
    assert load(f"{prefix}-clusterrolebinding")["subjects"][0]["name"] == "devs"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_pdb_priorityclass_quota_ingress(prefix: str) -> None:
    pdb = load(f"{prefix}-pdb")["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"] == {"matchLabels": {"app": "web"}}
    percent = load(f"{prefix}-pdb-percent")["spec"]
    assert percent["maxUnavailable"] == "50%"
    assert percent["selector"]["matchExpressions"] == [{"key": "tier", "operator": "In", "values": ["a", "b"]}]
    priority = load(f"{prefix}-priorityclass")
    assert (priority["value"], priority["description"]) == (1000, "hi")
    assert load(f"{prefix}-quota")["spec"]["hard"] == {"cpu": "1", "memory": "1Gi", "pods": "10"}
    (rule,) = load(f"{prefix}-ingress")["spec"]["rules"]
    assert rule["host"] == "foo.example"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "svc", "port": {"number": 80}}}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_token_access_review_and_autoscaler(prefix: str) -> None:
    token = load(f"{prefix}-token")
    assert (token["apiVersion"], token["kind"]) == ("authentication.k8s.io/v1", "TokenRequest")
    assert token["spec"] == {"expirationSeconds": 600}
    review = load(f"{prefix}-can-i")
    assert review["spec"]["resourceAttributes"] == {"namespace": "smoke", "verb": "create", "resource": "pods"}
    hpa = load(f"{prefix}-autoscale")
    assert hpa["spec"]["scaleTargetRef"] == {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)


# --- hand-built messages: the JSON mapping -----------------------------------------------------------------


def test_pod_with_the_common_container_fields() -> None:
    port = lf(2, vf(1, 0) + vf(2, 8080))  # httpGet.port = IntOrString(8080)
    probe = lf(1, lf(2, lf(1, "/healthz") + port)) + vf(2, 0) + vf(4, 10)  # initialDelaySeconds 0 omitted
    env = lf(1, "A") + lf(2, "B")
    env_from_secret = lf(1, "PW") + lf(3, lf(4, lf(1, lf(1, "creds")) + lf(2, "pw") + vf(3, 0)))
    env_field = lf(1, "NODE") + lf(3, lf(1, lf(1, "v1") + lf(2, "spec.nodeName")))
    resources = lf(1, entry("cpu", lf(1, "500m"))) + lf(2, entry("memory", lf(1, "64Mi")))
    mount = lf(1, "data") + vf(2, 1) + lf(3, "/data")
    container = (
        lf(1, "app")
        + lf(2, "nginx:1.27")
        + lf(3, "sh")
        + lf(4, "-c")
        + lf(4, "sleep 1")
        + lf(5, "")  # workingDir "" (omitempty) leaves JSON
        + lf(6, lf(1, "http") + vf(3, 80) + lf(4, "TCP"))
        + lf(7, env)
        + lf(7, env_from_secret)
        + lf(7, env_field)
        + lf(8, resources)
        + lf(9, mount)
        + lf(10, probe)
        + lf(14, "IfNotPresent")
        + lf(15, vf(5, 1) + vf(6, 0) + vf(7, 0))  # runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation
        + vf(16, 0)  # stdin false (omitempty, not a pointer) leaves JSON
        + vf(18, 1)
    )
    volumes = lf(1, lf(1, "data") + lf(2, lf(2, lf(1, "Memory")))) + lf(
        1, lf(1, "cfg") + lf(2, lf(19, lf(1, lf(1, "c")) + vf(3, 0o644)))
    )
    toleration = lf(1, "k") + lf(2, "Exists") + lf(4, "NoExecute") + vf(5, 30)
    security = vf(2, 0) + vf(4, 1000) + vf(4, 2000) + lf(4, varint(3000) + varint(4000)) + vf(5, 0)
    spec = (
        volumes
        + lf(2, container)
        + lf(3, "Always")
        + vf(4, 0)  # terminationGracePeriodSeconds 0 (pointer) stays
        + lf(7, entry("disk", "ssd"))
        + vf(11, 0)
        + lf(14, security)
        + vf(21, 0)  # automountServiceAccountToken false (pointer) stays
        + lf(22, toleration)
    )
    pod = decode(envelope("v1", "Pod", meta("p", ns=lf(3, "smoke"), labels=lf(11, entry("app", "p"))) + lf(2, spec)))
    assert pod["metadata"] == {"name": "p", "namespace": "smoke", "labels": {"app": "p"}}
    got = pod["spec"]
    assert got["restartPolicy"] == "Always"
    assert got["terminationGracePeriodSeconds"] == 0
    assert got["automountServiceAccountToken"] is False
    assert "hostNetwork" not in got
    assert got["nodeSelector"] == {"disk": "ssd"}
    assert got["securityContext"] == {"runAsUser": 0, "supplementalGroups": [1000, 2000, 3000, 4000], "fsGroup": 0}
    assert got["tolerations"] == [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]
    assert got["volumes"] == [
        {"name": "data", "emptyDir": {"medium": "Memory"}},
        {"name": "cfg", "configMap": {"name": "c", "defaultMode": 0o644}},
    ]
    (c,) = got["containers"]
    assert c == {
        "name": "app",
        "image": "nginx:1.27",
        "command": ["sh"],
        "args": ["-c", "sleep 1"],
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "env": [
            {"name": "A", "value": "B"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw", "optional": False}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
        ],
        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
        "volumeMounts": [{"name": "data", "readOnly": True, "mountPath": "/data"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False},
        "tty": True,
    }


def test_delete_options_and_eviction() -> None:
    options = vf(1, 0) + lf(2, lf(1, "uid-1") + lf(2, "42")) + lf(4, "Foreground") + lf(5, "All")
    assert decode(envelope("v1", "DeleteOptions", options)) == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }
    assert decode(envelope("meta.k8s.io/v1", "DeleteOptions", b""))["kind"] == "DeleteOptions"
    eviction = decode(envelope("policy/v1", "Eviction", meta("p", ns=lf(3, "smoke")) + lf(2, vf(1, 30))))
    assert eviction == {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "p", "namespace": "smoke"},
        "deleteOptions": {"gracePeriodSeconds": 30},
    }


def test_scale_keeps_zero_replicas() -> None:
    scale = decode(envelope("autoscaling/v1", "Scale", meta("web") + lf(2, vf(1, 0)) + lf(3, b"")))
    assert scale == {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {}}
    scale = decode(envelope("autoscaling/v1", "Scale", meta("web") + lf(2, vf(1, 3))))
    assert scale["spec"] == {"replicas": 3}


def test_times_durations_managed_fields_and_negative_ints() -> None:
    when = 1795459200  # 2026-11-23T18:40:00Z
    managed = lf(1, "kubectl") + lf(2, "Update") + lf(4, vf(1, when)) + lf(6, "FieldsV1") + lf(7, lf(1, b'{"f:a":{}}'))
    metadata = meta(
        "l",
        ts=lf(8, b""),  # Go's zero creationTimestamp is dropped
        deleted=lf(9, vf(1, when) + vf(2, 5)),
        grace=vf(10, (1 << 64) - 1),  # -1 as a 10-byte varint
        managed=lf(17, managed),
    )
    spec = lf(1, "me") + vf(2, 15) + lf(3, vf(1, when) + vf(2, 123_456_789)) + vf(5, 0)
    lease = decode(envelope("coordination.k8s.io/v1", "Lease", metadata + lf(2, spec)))
    assert lease["metadata"] == {
        "name": "l",
        "deletionTimestamp": "2026-11-23T18:40:00Z",
        "deletionGracePeriodSeconds": -1,
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "time": "2026-11-23T18:40:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:a": {}},
            }
        ],
    }
    assert lease["spec"] == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "acquireTime": "2026-11-23T18:40:00.123456Z",
        "leaseTransitions": 0,
    }


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (2_000_000, "2ms"),
        (1_500_000_000, "1.5s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (-5_000_000_000, "-5s"),
    ],
)
def test_go_duration(nanos: int, text: str) -> None:
    assert go_duration(nanos) == text


def test_rawextension() -> None:
    # A ControllerRevision carries runtime.RawExtension (JSON bytes, or an enveloped protobuf object).
    revision = decode(envelope("apps/v1", "ControllerRevision", meta("r") + lf(2, lf(1, b'{"spec":1}')) + vf(3, 7)))
    assert revision["data"] == {"spec": 1}
    assert revision["revision"] == 7
    empty = decode(envelope("apps/v1", "ControllerRevision", meta("r") + lf(2, b"")))
    assert "data" not in empty
    nested = envelope("v1", "ConfigMap", meta("inner"))
    wrapped = decode(envelope("apps/v1", "ControllerRevision", meta("r") + lf(2, lf(1, nested))))
    assert wrapped["data"] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inner"}}


def test_value_kinds_outside_the_current_tables() -> None:
    from kubesim.protobuf import _decode_value

    assert _decode_value("duration", None, 2, vf(1, 90_000_000_000), "x") == "1m30s"
    assert _decode_value("double", None, 1, struct.pack("<d", 0.25), "x") == 0.25
    assert _decode_value("uint32", None, 0, (1 << 32) + 7, "x") == 7
    assert _decode_value("strlist", None, 2, lf(1, "a") + lf(1, "b"), "x") == ["a", "b"]


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = vf(99, 5) + lf(98, "x") + f64(97, 1.5) + f32(96, b"\x00\x00\x80\x3f")
    body = envelope("v1", "ConfigMap", meta("c") + unknown + lf(2, entry("a", "b") + unknown), extra=lf(4, "x"))
    assert decode(body) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}


def test_packed_and_unpacked_repeated_scalars_and_doubles() -> None:
    body = envelope("v1", "Pod", lf(2, lf(14, vf(4, 1) + lf(4, varint(2) + varint(3)) + vf(4, 4)) + lf(2, lf(1, "c"))))
    assert decode(body)["spec"]["securityContext"]["supplementalGroups"] == [1, 2, 3, 4]


def test_map_entries_missing_key_or_value() -> None:
    body = envelope("v1", "Secret", meta("s") + lf(2, lf(1, "empty")) + lf(4, lf(2, "v")))
    assert decode(body)["data"] == {"empty": ""}
    assert decode(body)["stringData"] == {"": "v"}


def test_empty_status_is_dropped_but_content_kept() -> None:
    assert "status" not in decode(envelope("v1", "Namespace", meta("n") + lf(3, b"")))
    assert decode(envelope("v1", "Namespace", meta("n") + lf(3, lf(1, "Active"))))["status"] == {"phase": "Active"}


def test_every_kind_resolves_to_a_schema() -> None:
    for (api_version, kind), _ in KINDS.items():
        obj = decode(envelope(api_version, kind, b""))
        assert obj == {"apiVersion": api_version, "kind": kind}
    assert ("apps/v1", "Deployment") in KINDS
    assert ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") in KINDS


# --- errors ----------------------------------------------------------------------------------------------


def test_unknown_kind_is_refused_with_a_helpful_message() -> None:
    with pytest.raises(ProtobufError) as info:
        decode(envelope("example.com/v1", "Widget", b""))
    message = str(info.value)
    assert "Widget" in message
    assert "example.com/v1" in message
    assert "send JSON" in message


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b"k8s",
        b"K8S\x00" + lf(1, b""),
    ],
)
def test_wrong_magic(body: bytes) -> None:
    with pytest.raises(ProtobufError, match="magic"):
        decode(body)


@pytest.mark.parametrize("cut", [5, 10, 20, -1, -3])
def test_truncated_bodies(cut: int) -> None:
    body = (FIXTURES / "k137-deployment.bin").read_bytes()
    with pytest.raises(ProtobufError):
        decode(body[:cut])


@pytest.mark.parametrize(
    "body",
    [
        envelope("v1", "ConfigMap", meta("c") + vf(2, 1)),  # map field sent as a varint
        envelope("apps/v1", "Deployment", lf(2, lf(1, b"x"))),  # replicas sent as bytes
        envelope("v1", "ConfigMap", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),  # endless varint
        envelope("v1", "ConfigMap", varint(3 << 3 | 3)),  # group wire type
        envelope("v1", "ConfigMap", lf(1, lf(17, lf(7, lf(1, b"not json"))))),  # FieldsV1 not JSON
        envelope("v1", "ConfigMap", b"", extra=lf(3, "gzip")),  # content encoding
        envelope("v1", "", b""),
        envelope("v1", "ConfigMap", meta("c") + varint(2 << 3 | 2) + varint(50) + b"short"),
    ],
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode(body)


def test_protobuf_error_is_a_value_error() -> None:
    assert issubclass(ProtobufError, ValueError)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/vnd.kubernetes.protobuf", True),
        ("Application/VND.Kubernetes.Protobuf; charset=binary", True),
        ("application/vnd.kubernetes.protobuf;stream=watch", True),
        ("application/json", False),
        ("application/merge-patch+json", False),
        ("", False),
    ],
)
def test_is_protobuf(content_type: str, expected: bool) -> None:
    assert is_protobuf(content_type) is expected
