"""Shared fixtures: one real cluster per test session and a fresh namespace per test.

The cluster is started on first use. If one was already running (a developer's
`make cluster-up`), it is reused and left running; if this session started it, this session
stops it, unless FARO_KEEP_CLUSTER=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.harness.cluster import LocalCluster, cluster_was_running, start_cluster, stop_cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/cluster/" in str(item.path):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    reuse = cluster_was_running()
    handle = start_cluster()
    yield handle
    if not reuse and os.environ.get("FARO_KEEP_CLUSTER") != "1":
        stop_cluster()


def _fresh_namespace(cluster: LocalCluster, prefix: str) -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def namespace(cluster: LocalCluster) -> Iterator[str]:
    yield from _fresh_namespace(cluster, "t")


@pytest.fixture
def second_namespace(cluster: LocalCluster) -> Iterator[str]:
    """Another fresh namespace, for what must span (or stay out of) two namespaces."""
    yield from _fresh_namespace(cluster, "t2")
