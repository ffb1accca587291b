"""Controllers: the control loops that make stored objects come true (deployments, pods, endpoints...)."""
