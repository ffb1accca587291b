"""The horizontal pod autoscaler controller (kube-controller-manager's pkg/controller/podautoscaler, 1.32).

Every HorizontalPodAutoscaler is synced every 15 seconds (the first time 15 seconds after it is seen, as the
controller's fixed-interval work queue does). A sync reads the target's scale (Deployment, ReplicaSet or
StatefulSet: `spec.replicas` and its selector), the pods of that selector and their measured usage
(`Cluster.usage`, what metrics-server would answer), computes a replica count per metric, takes the largest,
bounds it by minReplicas/maxReplicas and the scaling rules (`spec.behavior`, or the 2x/4-pods and 5-minute
scale-down stabilisation of an HPA without one), writes the target's `spec.replicas` as the scale subresource
does, and records status, conditions and events worded as upstream words them.

The algorithm is kept in pure functions over plain objects and a clock, so it can be tested without a cluster:
`model` (defaults, the controller's memory, quantities), `replicas` (the resource metrics and the replica
calculator, replica_calculator.go), `behavior` (conditions and the scaling rules, horizontal.go's
normalisation) and `sync` (one reconcileAutoscaler). `kubesim.controllers.hpa` gathers their input from the
store.
"""
