"""Least-privilege RBAC for a capture: exactly the watches its plan makes, and nothing more.

get/list/watch on every resource type the plan watches (primaries, child kinds, Events,
CRDs when followed), get on pods/log when logs are captured. Namespaced Roles when every
watch is in a few named namespaces; a ClusterRole otherwise (patterns, "all", or
cluster-scoped kinds). Discovery (/api, /apis) is open to every authenticated user by
Kubernetes' default system:discovery binding, so it needs no rule here.
"""

from __future__ import annotations

from typing import Any

from faro.capture.watches.plan import WatchSpec

READ = ["get", "list", "watch"]


def _rules(specs: list[WatchSpec], logs: bool) -> list[dict[str, Any]]:
    by_group: dict[str, set[str]] = {}
    for s in specs:
        by_group.setdefault(s.key.resource.gvr.group, set()).add(s.key.resource.gvr.resource)
    rules = [
        {"apiGroups": [g], "resources": sorted(rs), "verbs": list(READ)} for g, rs in sorted(by_group.items())
    ]
    if logs and "pods" in by_group.get("", set()):
        rules.append({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]})
    return rules


def manifests(specs: list[WatchSpec], sa: str, sa_namespace: str, logs: bool = True) -> list[dict[str, Any]]:
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": sa, "namespace": sa_namespace},
    }
    subject = [{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}]
    rbac = "rbac.authorization.k8s.io/v1"
    cluster_wide = [s for s in specs if s.key.namespace is None]
    namespaced: dict[str, list[WatchSpec]] = {}
    for s in specs:
        if s.key.namespace is not None:
            namespaced.setdefault(s.key.namespace, []).append(s)
    out: list[dict[str, Any]] = [account]
    if cluster_wide:
        out += [
            {
                "apiVersion": rbac,
                "kind": "ClusterRole",
                "metadata": {"name": sa},
                "rules": _rules(cluster_wide, logs),
            },
            {
                "apiVersion": rbac,
                "kind": "ClusterRoleBinding",
                "metadata": {"name": sa},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": sa},
                "subjects": subject,
            },
        ]
    for ns, group in sorted(namespaced.items()):
        out += [
            {
                "apiVersion": rbac,
                "kind": "Role",
                "metadata": {"name": sa, "namespace": ns},
                "rules": _rules(group, logs),
            },
            {
                "apiVersion": rbac,
                "kind": "RoleBinding",
                "metadata": {"name": sa, "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
                "subjects": subject,
            },
        ]
    return out
