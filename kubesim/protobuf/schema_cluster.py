"""Protobuf schema: rbac, coordination, networking, scheduling, storage, discovery, events, node, certificates,
authentication, authorization, admissionregistration and flowcontrol (v1) messages.

Message name -> {field number: (JSON name, kind, nested, flags)}; see `kubesim.protobuf.wire` for the
kinds and flags. Field numbers, JSON names, pointer-ness (`OMIT` marks non-pointer `omitempty` scalars
whose zero value Go leaves out of JSON) and inline embedding follow the Kubernetes API types (the
`protobuf:` / `json:` struct tags behind `generated.proto`) as of Kubernetes 1.37.
"""

from kubesim.protobuf.wire import INLINE, OMIT, REP, Schema

MESSAGES: dict[str, Schema] = {
    "admissionregistration.v1.ApplyConfiguration": {
        1: ("expression", "string", None, OMIT),
    },
    "admissionregistration.v1.AuditAnnotation": {
        1: ("key", "string", None, 0),
        2: ("valueExpression", "string", None, 0),
    },
    "admissionregistration.v1.ExpressionWarning": {
        2: ("fieldRef", "string", None, 0),
        3: ("warning", "string", None, 0),
    },
    "admissionregistration.v1.JSONPatch": {
        1: ("expression", "string", None, OMIT),
    },
    "admissionregistration.v1.MatchCondition": {
        1: ("name", "string", None, 0),
        2: ("expression", "string", None, 0),
    },
    "admissionregistration.v1.MatchResources": {
        1: ("namespaceSelector", "message", "meta.v1.LabelSelector", 0),
        2: ("objectSelector", "message", "meta.v1.LabelSelector", 0),
        3: ("resourceRules", "message", "admissionregistration.v1.NamedRuleWithOperations", REP),
        4: ("excludeResourceRules", "message", "admissionregistration.v1.NamedRuleWithOperations", REP),
        7: ("matchPolicy", "string", None, 0),
    },
    "admissionregistration.v1.MutatingAdmissionPolicy": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "admissionregistration.v1.MutatingAdmissionPolicySpec", 0),
    },
    "admissionregistration.v1.MutatingAdmissionPolicyBinding": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "admissionregistration.v1.MutatingAdmissionPolicyBindingSpec", 0),
    },
    "admissionregistration.v1.MutatingAdmissionPolicyBindingSpec": {
        1: ("policyName", "string", None, OMIT),
        2: ("paramRef", "message", "admissionregistration.v1.ParamRef", 0),
        3: ("matchResources", "message", "admissionregistration.v1.MatchResources", 0),
    },
    "admissionregistration.v1.MutatingAdmissionPolicySpec": {
        1: ("paramKind", "message", "admissionregistration.v1.ParamKind", 0),
        2: ("matchConstraints", "message", "admissionregistration.v1.MatchResources", 0),
        3: ("variables", "message", "admissionregistration.v1.Variable", REP),
        4: ("mutations", "message", "admissionregistration.v1.Mutation", REP),
        5: ("failurePolicy", "string", None, 0),
        6: ("matchConditions", "message", "admissionregistration.v1.MatchCondition", REP),
        7: ("reinvocationPolicy", "string", None, OMIT),
    },
    "admissionregistration.v1.MutatingWebhook": {
        1: ("name", "string", None, 0),
        2: ("clientConfig", "message", "admissionregistration.v1.WebhookClientConfig", 0),
        3: ("rules", "message", "admissionregistration.v1.RuleWithOperations", REP),
        4: ("failurePolicy", "string", None, 0),
        5: ("namespaceSelector", "message", "meta.v1.LabelSelector", 0),
        6: ("sideEffects", "string", None, 0),
        7: ("timeoutSeconds", "int32", None, 0),
        8: ("admissionReviewVersions", "string", None, REP),
        9: ("matchPolicy", "string", None, 0),
        10: ("reinvocationPolicy", "string", None, 0),
        11: ("objectSelector", "message", "meta.v1.LabelSelector", 0),
        12: ("matchConditions", "message", "admissionregistration.v1.MatchCondition", REP),
    },
    "admissionregistration.v1.MutatingWebhookConfiguration": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("webhooks", "message", "admissionregistration.v1.MutatingWebhook", REP),
    },
    "admissionregistration.v1.Mutation": {
        2: ("patchType", "string", None, 0),
        3: ("applyConfiguration", "message", "admissionregistration.v1.ApplyConfiguration", 0),
        4: ("jsonPatch", "message", "admissionregistration.v1.JSONPatch", 0),
    },
    "admissionregistration.v1.NamedRuleWithOperations": {
        1: ("resourceNames", "string", None, REP),
        2: ("", "message", "admissionregistration.v1.RuleWithOperations", INLINE),
    },
    "admissionregistration.v1.ParamKind": {
        1: ("apiVersion", "string", None, OMIT),
        2: ("kind", "string", None, OMIT),
    },
    "admissionregistration.v1.ParamRef": {
        1: ("name", "string", None, OMIT),
        2: ("namespace", "string", None, OMIT),
        3: ("selector", "message", "meta.v1.LabelSelector", 0),
        4: ("parameterNotFoundAction", "string", None, 0),
    },
    "admissionregistration.v1.Rule": {
        1: ("apiGroups", "string", None, REP),
        2: ("apiVersions", "string", None, REP),
        3: ("resources", "string", None, REP),
        4: ("scope", "string", None, 0),
    },
    "admissionregistration.v1.RuleWithOperations": {
        1: ("operations", "string", None, REP),
        2: ("", "message", "admissionregistration.v1.Rule", INLINE),
    },
    "admissionregistration.v1.ServiceReference": {
        1: ("namespace", "string", None, 0),
        2: ("name", "string", None, 0),
        3: ("path", "string", None, 0),
        4: ("port", "int32", None, 0),
    },
    "admissionregistration.v1.TypeChecking": {
        1: ("expressionWarnings", "message", "admissionregistration.v1.ExpressionWarning", REP),
    },
    "admissionregistration.v1.ValidatingAdmissionPolicy": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "admissionregistration.v1.ValidatingAdmissionPolicySpec", 0),
        3: ("status", "message", "admissionregistration.v1.ValidatingAdmissionPolicyStatus", 0),
    },
    "admissionregistration.v1.ValidatingAdmissionPolicyBinding": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec", 0),
    },
    "admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec": {
        1: ("policyName", "string", None, OMIT),
        2: ("paramRef", "message", "admissionregistration.v1.ParamRef", 0),
        3: ("matchResources", "message", "admissionregistration.v1.MatchResources", 0),
        4: ("validationActions", "string", None, REP),
    },
    "admissionregistration.v1.ValidatingAdmissionPolicySpec": {
        1: ("paramKind", "message", "admissionregistration.v1.ParamKind", 0),
        2: ("matchConstraints", "message", "admissionregistration.v1.MatchResources", 0),
        3: ("validations", "message", "admissionregistration.v1.Validation", REP),
        4: ("failurePolicy", "string", None, 0),
        5: ("auditAnnotations", "message", "admissionregistration.v1.AuditAnnotation", REP),
        6: ("matchConditions", "message", "admissionregistration.v1.MatchCondition", REP),
        7: ("variables", "message", "admissionregistration.v1.Variable", REP),
    },
    "admissionregistration.v1.ValidatingAdmissionPolicyStatus": {
        1: ("observedGeneration", "int64", None, OMIT),
        2: ("typeChecking", "message", "admissionregistration.v1.TypeChecking", 0),
        3: ("conditions", "message", "meta.v1.Condition", REP),
    },
    "admissionregistration.v1.ValidatingWebhook": {
        1: ("name", "string", None, 0),
        2: ("clientConfig", "message", "admissionregistration.v1.WebhookClientConfig", 0),
        3: ("rules", "message", "admissionregistration.v1.RuleWithOperations", REP),
        4: ("failurePolicy", "string", None, 0),
        5: ("namespaceSelector", "message", "meta.v1.LabelSelector", 0),
        6: ("sideEffects", "string", None, 0),
        7: ("timeoutSeconds", "int32", None, 0),
        8: ("admissionReviewVersions", "string", None, REP),
        9: ("matchPolicy", "string", None, 0),
        10: ("objectSelector", "message", "meta.v1.LabelSelector", 0),
        11: ("matchConditions", "message", "admissionregistration.v1.MatchCondition", REP),
    },
    "admissionregistration.v1.ValidatingWebhookConfiguration": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("webhooks", "message", "admissionregistration.v1.ValidatingWebhook", REP),
    },
    "admissionregistration.v1.Validation": {
        1: ("expression", "string", None, 0),
        2: ("message", "string", None, OMIT),
        3: ("reason", "string", None, 0),
        4: ("messageExpression", "string", None, OMIT),
    },
    "admissionregistration.v1.Variable": {
        1: ("name", "string", None, 0),
        2: ("expression", "string", None, 0),
    },
    "admissionregistration.v1.WebhookClientConfig": {
        1: ("service", "message", "admissionregistration.v1.ServiceReference", 0),
        2: ("caBundle", "bytes", None, OMIT),
        3: ("url", "string", None, 0),
    },
    "authentication.v1.BoundObjectReference": {
        1: ("kind", "string", None, OMIT),
        2: ("apiVersion", "string", None, OMIT),
        3: ("name", "string", None, OMIT),
        4: ("uid", "string", None, OMIT),
    },
    "authentication.v1.SelfSubjectReview": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("status", "message", "authentication.v1.SelfSubjectReviewStatus", 0),
    },
    "authentication.v1.SelfSubjectReviewStatus": {
        1: ("userInfo", "message", "authentication.v1.UserInfo", 0),
    },
    "authentication.v1.TokenRequest": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "authentication.v1.TokenRequestSpec", 0),
        3: ("status", "message", "authentication.v1.TokenRequestStatus", 0),
    },
    "authentication.v1.TokenRequestSpec": {
        1: ("audiences", "string", None, REP),
        3: ("boundObjectRef", "message", "authentication.v1.BoundObjectReference", 0),
        4: ("expirationSeconds", "int64", None, 0),
        5: ("attestations", "map", ("strlist", None), 0),
    },
    "authentication.v1.TokenRequestStatus": {
        1: ("token", "string", None, 0),
        2: ("expirationTimestamp", "time", None, OMIT),
    },
    "authentication.v1.TokenReview": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "authentication.v1.TokenReviewSpec", 0),
        3: ("status", "message", "authentication.v1.TokenReviewStatus", 0),
    },
    "authentication.v1.TokenReviewSpec": {
        1: ("token", "string", None, OMIT),
        2: ("audiences", "string", None, REP),
    },
    "authentication.v1.TokenReviewStatus": {
        1: ("authenticated", "bool", None, OMIT),
        2: ("user", "message", "authentication.v1.UserInfo", 0),
        3: ("error", "string", None, OMIT),
        4: ("audiences", "string", None, REP),
    },
    "authentication.v1.UserInfo": {
        1: ("username", "string", None, OMIT),
        2: ("uid", "string", None, OMIT),
        3: ("groups", "string", None, REP),
        4: ("extra", "map", ("strlist", None), 0),
    },
    "authorization.v1.FieldSelectorAttributes": {
        1: ("rawSelector", "string", None, OMIT),
        2: ("requirements", "message", "meta.v1.FieldSelectorRequirement", REP),
    },
    "authorization.v1.LabelSelectorAttributes": {
        1: ("rawSelector", "string", None, OMIT),
        2: ("requirements", "message", "meta.v1.LabelSelectorRequirement", REP),
    },
    "authorization.v1.LocalSubjectAccessReview": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "authorization.v1.SubjectAccessReviewSpec", 0),
        3: ("status", "message", "authorization.v1.SubjectAccessReviewStatus", 0),
    },
    "authorization.v1.NonResourceAttributes": {
        1: ("path", "string", None, OMIT),
        2: ("verb", "string", None, OMIT),
    },
    "authorization.v1.NonResourceRule": {
        1: ("verbs", "string", None, REP),
        2: ("nonResourceURLs", "string", None, REP),
    },
    "authorization.v1.ResourceAttributes": {
        1: ("namespace", "string", None, OMIT),
        2: ("verb", "string", None, OMIT),
        3: ("group", "string", None, OMIT),
        4: ("version", "string", None, OMIT),
        5: ("resource", "string", None, OMIT),
        6: ("subresource", "string", None, OMIT),
        7: ("name", "string", None, OMIT),
        8: ("fieldSelector", "message", "authorization.v1.FieldSelectorAttributes", 0),
        9: ("labelSelector", "message", "authorization.v1.LabelSelectorAttributes", 0),
    },
    "authorization.v1.ResourceRule": {
        1: ("verbs", "string", None, REP),
        2: ("apiGroups", "string", None, REP),
        3: ("resources", "string", None, REP),
        4: ("resourceNames", "string", None, REP),
    },
    "authorization.v1.SelfSubjectAccessReview": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "authorization.v1.SelfSubjectAccessReviewSpec", 0),
        3: ("status", "message", "authorization.v1.SubjectAccessReviewStatus", 0),
    },
    "authorization.v1.SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "message", "authorization.v1.ResourceAttributes", 0),
        2: ("nonResourceAttributes", "message", "authorization.v1.NonResourceAttributes", 0),
    },
    "authorization.v1.SelfSubjectRulesReview": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "authorization.v1.SelfSubjectRulesReviewSpec", 0),
        3: ("status", "message", "authorization.v1.SubjectRulesReviewStatus", 0),
    },
    "authorization.v1.SelfSubjectRulesReviewSpec": {
        1: ("namespace", "string", None, OMIT),
    },
    "authorization.v1.SubjectAccessReview": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "authorization.v1.SubjectAccessReviewSpec", 0),
        3: ("status", "message", "authorization.v1.SubjectAccessReviewStatus", 0),
    },
    "authorization.v1.SubjectAccessReviewSpec": {
        1: ("resourceAttributes", "message", "authorization.v1.ResourceAttributes", 0),
        2: ("nonResourceAttributes", "message", "authorization.v1.NonResourceAttributes", 0),
        3: ("user", "string", None, OMIT),
        4: ("groups", "string", None, REP),
        5: ("extra", "map", ("strlist", None), 0),
        6: ("uid", "string", None, OMIT),
    },
    "authorization.v1.SubjectAccessReviewStatus": {
        1: ("allowed", "bool", None, 0),
        2: ("reason", "string", None, OMIT),
        3: ("evaluationError", "string", None, OMIT),
        4: ("denied", "bool", None, OMIT),
    },
    "authorization.v1.SubjectRulesReviewStatus": {
        1: ("resourceRules", "message", "authorization.v1.ResourceRule", REP),
        2: ("nonResourceRules", "message", "authorization.v1.NonResourceRule", REP),
        3: ("incomplete", "bool", None, 0),
        4: ("evaluationError", "string", None, OMIT),
    },
    "certificates.v1.CertificateSigningRequest": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "certificates.v1.CertificateSigningRequestSpec", 0),
        3: ("status", "message", "certificates.v1.CertificateSigningRequestStatus", 0),
    },
    "certificates.v1.CertificateSigningRequestCondition": {
        1: ("type", "string", None, 0),
        2: ("reason", "string", None, OMIT),
        3: ("message", "string", None, OMIT),
        4: ("lastUpdateTime", "time", None, OMIT),
        5: ("lastTransitionTime", "time", None, OMIT),
        6: ("status", "string", None, 0),
    },
    "certificates.v1.CertificateSigningRequestSpec": {
        1: ("request", "bytes", None, 0),
        2: ("username", "string", None, OMIT),
        3: ("uid", "string", None, OMIT),
        4: ("groups", "string", None, REP),
        5: ("usages", "string", None, REP),
        6: ("extra", "map", ("strlist", None), 0),
        7: ("signerName", "string", None, 0),
        8: ("expirationSeconds", "int32", None, 0),
    },
    "certificates.v1.CertificateSigningRequestStatus": {
        1: ("conditions", "message", "certificates.v1.CertificateSigningRequestCondition", REP),
        2: ("certificate", "bytes", None, OMIT),
    },
    "certificates.v1.ClusterTrustBundle": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "certificates.v1.ClusterTrustBundleSpec", 0),
    },
    "certificates.v1.ClusterTrustBundleSpec": {
        1: ("signerName", "string", None, OMIT),
        2: ("trustBundle", "string", None, 0),
    },
    "certificates.v1.PodCertificateRequest": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "certificates.v1.PodCertificateRequestSpec", 0),
        3: ("status", "message", "certificates.v1.PodCertificateRequestStatus", 0),
    },
    "certificates.v1.PodCertificateRequestSpec": {
        1: ("signerName", "string", None, 0),
        2: ("podName", "string", None, 0),
        3: ("podUID", "string", None, 0),
        4: ("serviceAccountName", "string", None, 0),
        5: ("serviceAccountUID", "string", None, 0),
        6: ("nodeName", "string", None, 0),
        7: ("nodeUID", "string", None, 0),
        8: ("maxExpirationSeconds", "int32", None, 0),
        11: ("unverifiedUserAnnotations", "map", ("string", None), 0),
        12: ("stubPKCS10Request", "bytes", None, 0),
    },
    "certificates.v1.PodCertificateRequestStatus": {
        1: ("conditions", "message", "meta.v1.Condition", REP),
        2: ("certificateChain", "string", None, OMIT),
        4: ("notBefore", "time", None, OMIT),
        5: ("beginRefreshAt", "time", None, OMIT),
        6: ("notAfter", "time", None, OMIT),
    },
    "coordination.v1.Lease": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "coordination.v1.LeaseSpec", 0),
    },
    "coordination.v1.LeaseSpec": {
        1: ("holderIdentity", "string", None, 0),
        2: ("leaseDurationSeconds", "int32", None, 0),
        3: ("acquireTime", "microtime", None, 0),
        4: ("renewTime", "microtime", None, 0),
        5: ("leaseTransitions", "int32", None, 0),
        6: ("strategy", "string", None, 0),
        7: ("preferredHolder", "string", None, 0),
    },
    "discovery.v1.Endpoint": {
        1: ("addresses", "string", None, REP),
        2: ("conditions", "message", "discovery.v1.EndpointConditions", 0),
        3: ("hostname", "string", None, 0),
        4: ("targetRef", "message", "core.v1.ObjectReference", 0),
        5: ("deprecatedTopology", "map", ("string", None), 0),
        6: ("nodeName", "string", None, 0),
        7: ("zone", "string", None, 0),
        8: ("hints", "message", "discovery.v1.EndpointHints", 0),
    },
    "discovery.v1.EndpointConditions": {
        1: ("ready", "bool", None, 0),
        2: ("serving", "bool", None, 0),
        3: ("terminating", "bool", None, 0),
    },
    "discovery.v1.EndpointHints": {
        1: ("forZones", "message", "discovery.v1.ForZone", REP),
        2: ("forNodes", "message", "discovery.v1.ForNode", REP),
    },
    "discovery.v1.EndpointPort": {
        1: ("name", "string", None, 0),
        2: ("protocol", "string", None, 0),
        3: ("port", "int32", None, 0),
        4: ("appProtocol", "string", None, 0),
    },
    "discovery.v1.EndpointSlice": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("endpoints", "message", "discovery.v1.Endpoint", REP),
        3: ("ports", "message", "discovery.v1.EndpointPort", REP),
        4: ("addressType", "string", None, 0),
    },
    "discovery.v1.ForNode": {
        1: ("name", "string", None, 0),
    },
    "discovery.v1.ForZone": {
        1: ("name", "string", None, 0),
    },
    "events.v1.Event": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("eventTime", "microtime", None, 0),
        3: ("series", "message", "events.v1.EventSeries", 0),
        4: ("reportingController", "string", None, OMIT),
        5: ("reportingInstance", "string", None, OMIT),
        6: ("action", "string", None, OMIT),
        7: ("reason", "string", None, OMIT),
        8: ("regarding", "message", "core.v1.ObjectReference", 0),
        9: ("related", "message", "core.v1.ObjectReference", 0),
        10: ("note", "string", None, OMIT),
        11: ("type", "string", None, OMIT),
        12: ("deprecatedSource", "message", "core.v1.EventSource", 0),
        13: ("deprecatedFirstTimestamp", "time", None, OMIT),
        14: ("deprecatedLastTimestamp", "time", None, OMIT),
        15: ("deprecatedCount", "int32", None, OMIT),
    },
    "events.v1.EventSeries": {
        1: ("count", "int32", None, 0),
        2: ("lastObservedTime", "microtime", None, 0),
    },
    "flowcontrol.v1.ExemptPriorityLevelConfiguration": {
        1: ("nominalConcurrencyShares", "int32", None, 0),
        2: ("lendablePercent", "int32", None, 0),
    },
    "flowcontrol.v1.FlowDistinguisherMethod": {
        1: ("type", "string", None, 0),
    },
    "flowcontrol.v1.FlowSchema": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "flowcontrol.v1.FlowSchemaSpec", 0),
        3: ("status", "message", "flowcontrol.v1.FlowSchemaStatus", 0),
    },
    "flowcontrol.v1.FlowSchemaCondition": {
        1: ("type", "string", None, OMIT),
        2: ("status", "string", None, OMIT),
        3: ("lastTransitionTime", "time", None, OMIT),
        4: ("reason", "string", None, OMIT),
        5: ("message", "string", None, OMIT),
    },
    "flowcontrol.v1.FlowSchemaSpec": {
        1: ("priorityLevelConfiguration", "message", "flowcontrol.v1.PriorityLevelConfigurationReference", 0),
        2: ("matchingPrecedence", "int32", None, 0),
        3: ("distinguisherMethod", "message", "flowcontrol.v1.FlowDistinguisherMethod", 0),
        4: ("rules", "message", "flowcontrol.v1.PolicyRulesWithSubjects", REP),
    },
    "flowcontrol.v1.FlowSchemaStatus": {
        1: ("conditions", "message", "flowcontrol.v1.FlowSchemaCondition", REP),
    },
    "flowcontrol.v1.GroupSubject": {
        1: ("name", "string", None, 0),
    },
    "flowcontrol.v1.LimitResponse": {
        1: ("type", "string", None, 0),
        2: ("queuing", "message", "flowcontrol.v1.QueuingConfiguration", 0),
    },
    "flowcontrol.v1.LimitedPriorityLevelConfiguration": {
        1: ("nominalConcurrencyShares", "int32", None, 0),
        2: ("limitResponse", "message", "flowcontrol.v1.LimitResponse", 0),
        3: ("lendablePercent", "int32", None, 0),
        4: ("borrowingLimitPercent", "int32", None, 0),
    },
    "flowcontrol.v1.NonResourcePolicyRule": {
        1: ("verbs", "string", None, REP),
        6: ("nonResourceURLs", "string", None, REP),
    },
    "flowcontrol.v1.PolicyRulesWithSubjects": {
        1: ("subjects", "message", "flowcontrol.v1.Subject", REP),
        2: ("resourceRules", "message", "flowcontrol.v1.ResourcePolicyRule", REP),
        3: ("nonResourceRules", "message", "flowcontrol.v1.NonResourcePolicyRule", REP),
    },
    "flowcontrol.v1.PriorityLevelConfiguration": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "flowcontrol.v1.PriorityLevelConfigurationSpec", 0),
        3: ("status", "message", "flowcontrol.v1.PriorityLevelConfigurationStatus", 0),
    },
    "flowcontrol.v1.PriorityLevelConfigurationCondition": {
        1: ("type", "string", None, OMIT),
        2: ("status", "string", None, OMIT),
        3: ("lastTransitionTime", "time", None, OMIT),
        4: ("reason", "string", None, OMIT),
        5: ("message", "string", None, OMIT),
    },
    "flowcontrol.v1.PriorityLevelConfigurationReference": {
        1: ("name", "string", None, 0),
    },
    "flowcontrol.v1.PriorityLevelConfigurationSpec": {
        1: ("type", "string", None, 0),
        2: ("limited", "message", "flowcontrol.v1.LimitedPriorityLevelConfiguration", 0),
        3: ("exempt", "message", "flowcontrol.v1.ExemptPriorityLevelConfiguration", 0),
    },
    "flowcontrol.v1.PriorityLevelConfigurationStatus": {
        1: ("conditions", "message", "flowcontrol.v1.PriorityLevelConfigurationCondition", REP),
    },
    "flowcontrol.v1.QueuingConfiguration": {
        1: ("queues", "int32", None, 0),
        2: ("handSize", "int32", None, 0),
        3: ("queueLengthLimit", "int32", None, 0),
    },
    "flowcontrol.v1.ResourcePolicyRule": {
        1: ("verbs", "string", None, REP),
        2: ("apiGroups", "string", None, REP),
        3: ("resources", "string", None, REP),
        4: ("clusterScope", "bool", None, OMIT),
        5: ("namespaces", "string", None, REP),
    },
    "flowcontrol.v1.ServiceAccountSubject": {
        1: ("namespace", "string", None, 0),
        2: ("name", "string", None, 0),
    },
    "flowcontrol.v1.Subject": {
        1: ("kind", "string", None, 0),
        2: ("user", "message", "flowcontrol.v1.UserSubject", 0),
        3: ("group", "message", "flowcontrol.v1.GroupSubject", 0),
        4: ("serviceAccount", "message", "flowcontrol.v1.ServiceAccountSubject", 0),
    },
    "flowcontrol.v1.UserSubject": {
        1: ("name", "string", None, 0),
    },
    "networking.v1.HTTPIngressPath": {
        1: ("path", "string", None, OMIT),
        2: ("backend", "message", "networking.v1.IngressBackend", 0),
        3: ("pathType", "string", None, 0),
    },
    "networking.v1.HTTPIngressRuleValue": {
        1: ("paths", "message", "networking.v1.HTTPIngressPath", REP),
    },
    "networking.v1.IPAddress": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "networking.v1.IPAddressSpec", 0),
    },
    "networking.v1.IPAddressSpec": {
        1: ("parentRef", "message", "networking.v1.ParentReference", 0),
    },
    "networking.v1.IPBlock": {
        1: ("cidr", "string", None, 0),
        2: ("except", "string", None, REP),
    },
    "networking.v1.Ingress": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "networking.v1.IngressSpec", 0),
        3: ("status", "message", "networking.v1.IngressStatus", 0),
    },
    "networking.v1.IngressBackend": {
        3: ("resource", "message", "core.v1.TypedLocalObjectReference", 0),
        4: ("service", "message", "networking.v1.IngressServiceBackend", 0),
    },
    "networking.v1.IngressClass": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "networking.v1.IngressClassSpec", 0),
    },
    "networking.v1.IngressClassParametersReference": {
        1: ("apiGroup", "string", None, 0),
        2: ("kind", "string", None, 0),
        3: ("name", "string", None, 0),
        4: ("scope", "string", None, 0),
        5: ("namespace", "string", None, 0),
    },
    "networking.v1.IngressClassSpec": {
        1: ("controller", "string", None, OMIT),
        2: ("parameters", "message", "networking.v1.IngressClassParametersReference", 0),
    },
    "networking.v1.IngressLoadBalancerIngress": {
        1: ("ip", "string", None, OMIT),
        2: ("hostname", "string", None, OMIT),
        4: ("ports", "message", "networking.v1.IngressPortStatus", REP),
    },
    "networking.v1.IngressLoadBalancerStatus": {
        1: ("ingress", "message", "networking.v1.IngressLoadBalancerIngress", REP),
    },
    "networking.v1.IngressPortStatus": {
        1: ("port", "int32", None, 0),
        2: ("protocol", "string", None, 0),
        3: ("error", "string", None, 0),
    },
    "networking.v1.IngressRule": {
        1: ("host", "string", None, OMIT),
        2: ("", "message", "networking.v1.IngressRuleValue", INLINE),
    },
    "networking.v1.IngressRuleValue": {
        1: ("http", "message", "networking.v1.HTTPIngressRuleValue", 0),
    },
    "networking.v1.IngressServiceBackend": {
        1: ("name", "string", None, 0),
        2: ("port", "message", "networking.v1.ServiceBackendPort", 0),
    },
    "networking.v1.IngressSpec": {
        1: ("defaultBackend", "message", "networking.v1.IngressBackend", 0),
        2: ("tls", "message", "networking.v1.IngressTLS", REP),
        3: ("rules", "message", "networking.v1.IngressRule", REP),
        4: ("ingressClassName", "string", None, 0),
    },
    "networking.v1.IngressStatus": {
        1: ("loadBalancer", "message", "networking.v1.IngressLoadBalancerStatus", 0),
    },
    "networking.v1.IngressTLS": {
        1: ("hosts", "string", None, REP),
        2: ("secretName", "string", None, OMIT),
    },
    "networking.v1.NetworkPolicy": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "networking.v1.NetworkPolicySpec", 0),
    },
    "networking.v1.NetworkPolicyEgressRule": {
        1: ("ports", "message", "networking.v1.NetworkPolicyPort", REP),
        2: ("to", "message", "networking.v1.NetworkPolicyPeer", REP),
    },
    "networking.v1.NetworkPolicyIngressRule": {
        1: ("ports", "message", "networking.v1.NetworkPolicyPort", REP),
        2: ("from", "message", "networking.v1.NetworkPolicyPeer", REP),
    },
    "networking.v1.NetworkPolicyPeer": {
        1: ("podSelector", "message", "meta.v1.LabelSelector", 0),
        2: ("namespaceSelector", "message", "meta.v1.LabelSelector", 0),
        3: ("ipBlock", "message", "networking.v1.IPBlock", 0),
    },
    "networking.v1.NetworkPolicyPort": {
        1: ("protocol", "string", None, 0),
        2: ("port", "intstr", None, 0),
        3: ("endPort", "int32", None, 0),
    },
    "networking.v1.NetworkPolicySpec": {
        1: ("podSelector", "message", "meta.v1.LabelSelector", 0),
        2: ("ingress", "message", "networking.v1.NetworkPolicyIngressRule", REP),
        3: ("egress", "message", "networking.v1.NetworkPolicyEgressRule", REP),
        4: ("policyTypes", "string", None, REP),
    },
    "networking.v1.ParentReference": {
        1: ("group", "string", None, OMIT),
        2: ("resource", "string", None, OMIT),
        3: ("namespace", "string", None, OMIT),
        4: ("name", "string", None, OMIT),
    },
    "networking.v1.ServiceBackendPort": {
        1: ("name", "string", None, OMIT),
        2: ("number", "int32", None, OMIT),
    },
    "networking.v1.ServiceCIDR": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "networking.v1.ServiceCIDRSpec", 0),
        3: ("status", "message", "networking.v1.ServiceCIDRStatus", 0),
    },
    "networking.v1.ServiceCIDRSpec": {
        1: ("cidrs", "string", None, REP),
    },
    "networking.v1.ServiceCIDRStatus": {
        1: ("conditions", "message", "meta.v1.Condition", REP),
    },
    "node.v1.Overhead": {
        1: ("podFixed", "map", ("quantity", None), 0),
    },
    "node.v1.RuntimeClass": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("handler", "string", None, 0),
        3: ("overhead", "message", "node.v1.Overhead", 0),
        4: ("scheduling", "message", "node.v1.Scheduling", 0),
    },
    "node.v1.Scheduling": {
        1: ("nodeSelector", "map", ("string", None), 0),
        2: ("tolerations", "message", "core.v1.Toleration", REP),
    },
    "rbac.v1.AggregationRule": {
        1: ("clusterRoleSelectors", "message", "meta.v1.LabelSelector", REP),
    },
    "rbac.v1.ClusterRole": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("rules", "message", "rbac.v1.PolicyRule", REP),
        3: ("aggregationRule", "message", "rbac.v1.AggregationRule", 0),
    },
    "rbac.v1.ClusterRoleBinding": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("subjects", "message", "rbac.v1.Subject", REP),
        3: ("roleRef", "message", "rbac.v1.RoleRef", 0),
    },
    "rbac.v1.PolicyRule": {
        1: ("verbs", "string", None, REP),
        2: ("apiGroups", "string", None, REP),
        3: ("resources", "string", None, REP),
        4: ("resourceNames", "string", None, REP),
        5: ("nonResourceURLs", "string", None, REP),
    },
    "rbac.v1.Role": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("rules", "message", "rbac.v1.PolicyRule", REP),
    },
    "rbac.v1.RoleBinding": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("subjects", "message", "rbac.v1.Subject", REP),
        3: ("roleRef", "message", "rbac.v1.RoleRef", 0),
    },
    "rbac.v1.RoleRef": {
        1: ("apiGroup", "string", None, 0),
        2: ("kind", "string", None, 0),
        3: ("name", "string", None, 0),
    },
    "rbac.v1.Subject": {
        1: ("kind", "string", None, 0),
        2: ("apiGroup", "string", None, OMIT),
        3: ("name", "string", None, 0),
        4: ("namespace", "string", None, OMIT),
    },
    "scheduling.v1.PriorityClass": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("value", "int32", None, 0),
        3: ("globalDefault", "bool", None, OMIT),
        4: ("description", "string", None, OMIT),
        5: ("preemptionPolicy", "string", None, 0),
    },
    "scheduling.v1alpha3.TopologyConstraint": {
        1: ("key", "string", None, 0),
    },
    "scheduling.v1alpha3.WorkloadPodGroupAllDisruptionMode": {},
    "scheduling.v1alpha3.WorkloadPodGroupBasicSchedulingPolicy": {},
    "scheduling.v1alpha3.WorkloadPodGroupDisruptionMode": {
        1: ("single", "message", "scheduling.v1alpha3.WorkloadPodGroupSingleDisruptionMode", 0),
        2: ("all", "message", "scheduling.v1alpha3.WorkloadPodGroupAllDisruptionMode", 0),
    },
    "scheduling.v1alpha3.WorkloadPodGroupGangSchedulingPolicy": {
        1: ("minCount", "int32", None, 0),
    },
    "scheduling.v1alpha3.WorkloadPodGroupResourceClaim": {
        1: ("name", "string", None, 0),
        2: ("resourceClaimName", "string", None, 0),
        3: ("resourceClaimTemplateName", "string", None, 0),
    },
    "scheduling.v1alpha3.WorkloadPodGroupSchedulingConstraints": {
        1: ("topology", "message", "scheduling.v1alpha3.TopologyConstraint", REP),
    },
    "scheduling.v1alpha3.WorkloadPodGroupSchedulingPolicy": {
        1: ("basic", "message", "scheduling.v1alpha3.WorkloadPodGroupBasicSchedulingPolicy", 0),
        2: ("gang", "message", "scheduling.v1alpha3.WorkloadPodGroupGangSchedulingPolicy", 0),
    },
    "scheduling.v1alpha3.WorkloadPodGroupSingleDisruptionMode": {},
    "storage.v1.CSIDriver": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "storage.v1.CSIDriverSpec", 0),
    },
    "storage.v1.CSIDriverSpec": {
        1: ("attachRequired", "bool", None, 0),
        2: ("podInfoOnMount", "bool", None, 0),
        3: ("volumeLifecycleModes", "string", None, REP),
        4: ("storageCapacity", "bool", None, 0),
        5: ("fsGroupPolicy", "string", None, 0),
        6: ("tokenRequests", "message", "storage.v1.TokenRequest", REP),
        7: ("requiresRepublish", "bool", None, 0),
        8: ("seLinuxMount", "bool", None, 0),
        9: ("nodeAllocatableUpdatePeriodSeconds", "int64", None, 0),
        10: ("serviceAccountTokenInSecrets", "bool", None, 0),
        11: ("preventPodSchedulingIfMissing", "bool", None, 0),
    },
    "storage.v1.CSINode": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "storage.v1.CSINodeSpec", 0),
        3: ("status", "message", "storage.v1.CSINodeStatus", 0),
    },
    "storage.v1.CSINodeDriver": {
        1: ("name", "string", None, 0),
        2: ("nodeID", "string", None, 0),
        3: ("topologyKeys", "string", None, REP),
        4: ("allocatable", "message", "storage.v1.VolumeNodeResources", 0),
    },
    "storage.v1.CSINodeSpec": {
        1: ("drivers", "message", "storage.v1.CSINodeDriver", REP),
    },
    "storage.v1.CSINodeStatus": {
        1: ("storageHealth", "message", "storage.v1.StorageHealth", REP),
    },
    "storage.v1.CSIStorageCapacity": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("nodeTopology", "message", "meta.v1.LabelSelector", 0),
        3: ("storageClassName", "string", None, 0),
        4: ("capacity", "quantity", None, 0),
        5: ("maximumVolumeSize", "quantity", None, 0),
    },
    "storage.v1.StorageClass": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("provisioner", "string", None, 0),
        3: ("parameters", "map", ("string", None), 0),
        4: ("reclaimPolicy", "string", None, 0),
        5: ("mountOptions", "string", None, REP),
        6: ("allowVolumeExpansion", "bool", None, 0),
        7: ("volumeBindingMode", "string", None, 0),
        8: ("allowedTopologies", "message", "core.v1.TopologySelectorTerm", REP),
    },
    "storage.v1.StorageHealth": {
        1: ("name", "string", None, 0),
        2: ("healthConditions", "message", "storage.v1.StorageHealthCondition", REP),
    },
    "storage.v1.StorageHealthCondition": {
        1: ("status", "string", None, 0),
        2: ("reason", "string", None, 0),
        3: ("message", "string", None, OMIT),
        4: ("accessMode", "string", None, 0),
        5: ("volumeMode", "string", None, 0),
        6: ("lastTransitionTime", "time", None, OMIT),
    },
    "storage.v1.TokenRequest": {
        1: ("audience", "string", None, 0),
        2: ("expirationSeconds", "int64", None, 0),
    },
    "storage.v1.VolumeAttachment": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("spec", "message", "storage.v1.VolumeAttachmentSpec", 0),
        3: ("status", "message", "storage.v1.VolumeAttachmentStatus", 0),
    },
    "storage.v1.VolumeAttachmentSource": {
        1: ("persistentVolumeName", "string", None, 0),
        2: ("inlineVolumeSpec", "message", "core.v1.PersistentVolumeSpec", 0),
    },
    "storage.v1.VolumeAttachmentSpec": {
        1: ("attacher", "string", None, 0),
        2: ("source", "message", "storage.v1.VolumeAttachmentSource", 0),
        3: ("nodeName", "string", None, 0),
    },
    "storage.v1.VolumeAttachmentStatus": {
        1: ("attached", "bool", None, 0),
        2: ("attachmentMetadata", "map", ("string", None), 0),
        3: ("attachError", "message", "storage.v1.VolumeError", 0),
        4: ("detachError", "message", "storage.v1.VolumeError", 0),
    },
    "storage.v1.VolumeAttributesClass": {
        1: ("metadata", "message", "meta.v1.ObjectMeta", 0),
        2: ("driverName", "string", None, 0),
        3: ("parameters", "map", ("string", None), 0),
    },
    "storage.v1.VolumeError": {
        1: ("time", "time", None, OMIT),
        2: ("message", "string", None, OMIT),
        3: ("errorCode", "int32", None, 0),
    },
    "storage.v1.VolumeNodeResources": {
        1: ("count", "int32", None, 0),
    },
}
