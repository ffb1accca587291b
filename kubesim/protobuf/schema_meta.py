"""Protobuf schema: meta.k8s.io/v1 and runtime messages.

Message name -> {field number: (JSON name, kind, nested, flags)}; see `kubesim.protobuf.wire` for the
kinds and flags. Field numbers, JSON names, pointer-ness (`OMIT` marks non-pointer `omitempty` scalars
whose zero value Go leaves out of JSON) and inline embedding follow the Kubernetes API types (the
`protobuf:` / `json:` struct tags behind `generated.proto`) as of Kubernetes 1.37.
"""

from kubesim.protobuf.wire import OMIT, REP, Schema

MESSAGES: dict[str, Schema] = {
    "meta.v1.Condition": {
        1: ("type", "string", None, 0),
        2: ("status", "string", None, 0),
        3: ("observedGeneration", "int64", None, OMIT),
        4: ("lastTransitionTime", "time", None, OMIT),
        5: ("reason", "string", None, 0),
        6: ("message", "string", None, 0),
    },
    "meta.v1.DeleteOptions": {
        1: ("gracePeriodSeconds", "int64", None, 0),
        2: ("preconditions", "message", "meta.v1.Preconditions", 0),
        3: ("orphanDependents", "bool", None, 0),
        4: ("propagationPolicy", "string", None, 0),
        5: ("dryRun", "string", None, REP),
        6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "bool", None, 0),
    },
    "meta.v1.FieldSelectorRequirement": {
        1: ("key", "string", None, 0),
        2: ("operator", "string", None, 0),
        3: ("values", "string", None, REP),
    },
    "meta.v1.LabelSelector": {
        1: ("matchLabels", "map", ("string", None), 0),
        2: ("matchExpressions", "message", "meta.v1.LabelSelectorRequirement", REP),
    },
    "meta.v1.LabelSelectorRequirement": {
        1: ("key", "string", None, 0),
        2: ("operator", "string", None, 0),
        3: ("values", "string", None, REP),
    },
    "meta.v1.ManagedFieldsEntry": {
        1: ("manager", "string", None, OMIT),
        2: ("operation", "string", None, OMIT),
        3: ("apiVersion", "string", None, OMIT),
        4: ("time", "time", None, OMIT),
        6: ("fieldsType", "string", None, OMIT),
        7: ("fieldsV1", "fieldsv1", None, 0),
        8: ("subresource", "string", None, OMIT),
    },
    "meta.v1.ObjectMeta": {
        1: ("name", "string", None, OMIT),
        2: ("generateName", "string", None, OMIT),
        3: ("namespace", "string", None, OMIT),
        4: ("selfLink", "string", None, OMIT),
        5: ("uid", "string", None, OMIT),
        6: ("resourceVersion", "string", None, OMIT),
        7: ("generation", "int64", None, OMIT),
        8: ("creationTimestamp", "time", None, OMIT),
        9: ("deletionTimestamp", "time", None, OMIT),
        10: ("deletionGracePeriodSeconds", "int64", None, 0),
        11: ("labels", "map", ("string", None), 0),
        12: ("annotations", "map", ("string", None), 0),
        13: ("ownerReferences", "message", "meta.v1.OwnerReference", REP),
        14: ("finalizers", "string", None, REP),
        17: ("managedFields", "message", "meta.v1.ManagedFieldsEntry", REP),
    },
    "meta.v1.OwnerReference": {
        1: ("kind", "string", None, 0),
        3: ("name", "string", None, 0),
        4: ("uid", "string", None, 0),
        5: ("apiVersion", "string", None, 0),
        6: ("controller", "bool", None, 0),
        7: ("blockOwnerDeletion", "bool", None, 0),
    },
    "meta.v1.Preconditions": {
        1: ("uid", "string", None, 0),
        2: ("resourceVersion", "string", None, 0),
    },
}
