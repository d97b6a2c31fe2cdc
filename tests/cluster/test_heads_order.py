"""kube-apiserver writes built-in objects in Go field order, managedFields last in metadata:
the premise of reading a watch line's head from its prefix (kube/decode.py), checked on the
real apiserver's own watch lines."""

from __future__ import annotations

from faro.kube.decode import _prefix_head, line_head
from tests.harness.cluster import LocalCluster
from tests.harness.manifests import deployment


async def test_built_in_watch_lines_read_the_same_from_their_prefix(
    cluster: LocalCluster, namespace: str
) -> None:
    await cluster.aapply(deployment("web", replicas=2), namespace)
    await cluster.akubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    kinds: dict[str, int] = {}
    for path in (f"/api/v1/namespaces/{namespace}/pods", f"/apis/apps/v1/namespaces/{namespace}/replicasets"):
        out = await cluster.akubectl("get", "--raw", f"{path}?watch=1&resourceVersion=0&timeoutSeconds=1")
        for line in out.encode().splitlines():
            prefix = _prefix_head(line)
            assert prefix is not None, line[:200]  # read from the prefix, not the whole line
            assert (prefix.type, prefix.object) == line_head(line)  # and nothing was lost
            assert prefix.object.metadata.ownerReferences  # pods -> ReplicaSet -> Deployment
            kinds[prefix.object.kind] = kinds.get(prefix.object.kind, 0) + 1
    assert kinds == {"Pod": 2, "ReplicaSet": 1}
