"""Stand-in for kbudde/rabbitmq_exporter 1.0.0 (the rabbitmq sidecar): the management API as metrics."""
