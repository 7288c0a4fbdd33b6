"""A kubeconfig for a ServiceAccount token: the identity the operator's pod would have.

The chart tests and the demo run the operator as a local process; authenticating it with a
token from the TokenRequest API (`kubectl create token`) for the chart's ServiceAccount
means the chart's RBAC is what it works with, exactly as in the cluster.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def token_kubeconfig(path: Path, *, server: str, ca_cert: Path, token: str, account: str) -> Path:
    """Write a kubeconfig (mode 0600) that authenticates with `token` as `account`."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}
        ],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": account}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path
