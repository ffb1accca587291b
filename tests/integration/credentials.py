"""Kubeconfigs for acting as someone else than the admin.

The cluster's kubeconfig authenticates the admin by a client certificate, as KIND's does; kubectl sends that
certificate along with any `--token` it is given, and the API server's x509 authenticator comes first, so
`kubectl --token=<account's token>` with the admin's kubeconfig is still the admin (as on KIND). To act as an
account, give kubectl a kubeconfig without the admin's credentials: `no_credentials(cluster)`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.integration.conftest import Cluster


def no_credentials(cluster: Cluster) -> Path:
    """A kubeconfig for the cluster (server and CA) whose user carries nothing: pass `--token` with it."""
    path = cluster.state.parent / "no-credentials.kubeconfig"
    if not path.exists():
        config = yaml.safe_load(cluster.kubeconfig.read_text())
        for user in config["users"]:
            user["user"] = {}
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
    return path
