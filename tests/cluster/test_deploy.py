"""Deployment artefacts against the real cluster: manifests, least-privilege RBAC, and a real
capture under the generated ServiceAccount's token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from faro import ResourceRule
from tests.cluster.test_capture_resilience import sa_kubeconfig
from tests.harness.cluster import REPO, LocalCluster
from tests.harness.faro_run import FaroRun
from tests.harness.manifests import deployment


def faro_rbac(cluster: LocalCluster, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "faro", "rbac", *args, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_committed_rbac_matches_the_generator(cluster: LocalCluster) -> None:
    generated = faro_rbac(
        cluster, "--config", str(REPO / "deploy" / "faro.yaml"), "--sa-namespace", "faro-system"
    )
    committed = (REPO / "deploy" / "rbac.yaml").read_text()
    assert list(yaml.safe_load_all(committed)) == list(yaml.safe_load_all(generated))


def test_kustomize_manifests_pass_server_side_dry_run(cluster: LocalCluster) -> None:
    cluster.kubectl("create", "namespace", "faro-system", check=False)
    out = cluster.kubectl("apply", "--dry-run=server", "-k", str(REPO / "deploy"))
    for obj in (
        "deployment.apps/faro",
        "serviceaccount/faro",
        "clusterrole.rbac.authorization.k8s.io/faro",
        "configmap/faro-config",
    ):
        assert obj in out, out
    rendered = list(yaml.safe_load_all(cluster.kubectl("kustomize", str(REPO / "deploy"))))
    dep = next(d for d in rendered if d["kind"] == "Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "faro"
    cfg = next(d for d in rendered if d["kind"] == "ConfigMap")
    assert yaml.safe_load(cfg["data"]["faro.yaml"])["metrics_address"] == "0.0.0.0"


def can_i(cluster: LocalCluster, namespace: str, *args: str) -> bool:
    sa = f"system:serviceaccount:{namespace}:faro"
    proc = cluster.run_kubectl("auth", "can-i", *args, "--as", sa, "-n", namespace)
    return proc.stdout.strip() == "yes"


async def test_generated_rbac_grants_exactly_what_a_capture_needs(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    docs = faro_rbac(cluster, "-r", "deploy", "-n", namespace, "--sa-namespace", namespace)
    kinds = [d["kind"] for d in yaml.safe_load_all(docs)]
    assert kinds == ["ServiceAccount", "Role", "RoleBinding"]  # named namespace: no cluster-wide grant
    await cluster.aapply(docs)
    for verb, what in (
        ("list", "deployments"),
        ("watch", "pods"),
        ("watch", "replicasets"),
        ("list", "events"),
        ("watch", "jobs"),
        ("get", "pods/log"),
    ):
        assert can_i(cluster, namespace, verb, what), f"{verb} {what}"
    for verb, what in (
        ("list", "secrets"),
        ("delete", "pods"),
        ("list", "configmaps"),
        ("create", "deployments"),
        ("watch", "statefulsets"),
    ):
        assert not can_i(cluster, namespace, verb, what), f"{verb} {what} must be denied"
    other = cluster.run_kubectl(
        "auth",
        "can-i",
        "list",
        "deployments",
        "--as",
        f"system:serviceaccount:{namespace}:faro",
        "-n",
        "default",
    )
    assert other.stdout.strip() == "no"

    kubeconfig = sa_kubeconfig(cluster, namespace, "faro", tmp_path / "faro-sa.yaml")
    run = FaroRun(cluster, tmp_path / "out", [ResourceRule(gvr="deploy", namespace_names=[namespace])])
    run.config.kubeconfig = str(kubeconfig)
    async with run:
        await cluster.aapply(deployment("web", replicas=1), namespace)
        story = await run.story_of("Deployment", "web")
        engine = run.faro.engine
        assert engine is not None
        assert all(not r.stats.errors for r in engine.reflectors), [
            (r.name, r.stats.errors) for r in engine.reflectors
        ]
    assert story.completion == "terminal"
