"""RBAC for a configuration: resolve and plan its watches against the cluster, then
derive the least-privilege manifests from that plan (see capture/watches/rbac.py)."""

from __future__ import annotations

from typing import Any

from faro.capture.engine import Engine
from faro.capture.watches import rbac
from faro.config import FaroConfig
from faro.kube.client import KubeClient


async def rbac_manifests(
    config: FaroConfig, sa: str = "faro", sa_namespace: str = "faro-system"
) -> list[dict[str, Any]]:
    async with await KubeClient.connect(config.kubeconfig, config.context) as client:
        specs = await Engine(config, client).resolve()
    return rbac.manifests(specs, sa, sa_namespace, logs=config.include_logs)
