"""Real operators' CRDs (tests/data/crds/): a custom resource's story closes on the status its
operator writes, and `completion_reason` says which condition or phase, with its reason.

No operator runs here: the test installs each published CRD, creates one object, and writes
its status as the operator would (first running, then finished), through the status
subresource where the CRD has one. The apiserver validates and prunes that status with the
operator's own schema, so what Faro judges is what a real cluster would hold.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faro import ResourceRule
from faro.sinks.files import story_path
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun, load_story

CRDS = Path(__file__).parents[1] / "data" / "crds"
T0 = "2026-08-20T10:00:00Z"


@dataclass
class Case:
    file: str  # under tests/data/crds/
    name: str  # of the object created
    spec: dict[str, Any]
    running: dict[str, Any]  # status while the operator works: the story must stay open
    final: dict[str, Any]  # status it ends with: the story must close as terminal
    expect: dict[str, Any]  # what completion_reason must hold
    crd: dict[str, Any] = field(default_factory=dict)  # filled from the file

    @property
    def kind(self) -> str:
        return str(self.crd["spec"]["names"]["kind"])

    @property
    def resource(self) -> str:  # for kubectl: customruns.tekton.dev
        return str(self.crd["metadata"]["name"])

    @property
    def version(self) -> str:
        return next(str(v["name"]) for v in self.crd["spec"]["versions"] if v.get("storage"))

    @property
    def api_version(self) -> str:
        return f"{self.crd['spec']['group']}/{self.version}"

    @property
    def status_subresource(self) -> bool:
        v = next(v for v in self.crd["spec"]["versions"] if v["name"] == self.version)
        return "status" in (v.get("subresources") or {})


def _cond(type_: str, status: str, reason: str, message: str = "", gen: int = 1) -> dict[str, Any]:
    # Every field metav1.Condition requires (Flux's schema enforces them) and observedGeneration.
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": T0,
        "observedGeneration": gen,
    }


CASES = [
    Case(  # Knative convention: Succeeded=False is a failure (the old rule never closed it)
        "tekton-customrun.yaml",
        "wait-fails",
        {"customRef": {"apiVersion": "example.dev/v1", "kind": "Wait"}},
        {"conditions": [_cond("Succeeded", "Unknown", "Running", "waiting")], "startTime": T0},
        {
            "conditions": [_cond("Succeeded", "False", "TimedOut", "Wait ran past its 1m0s timeout")],
            "startTime": T0,
            "completionTime": T0,
        },
        {"outcome": "failed", "condition": "Succeeded", "status": "False", "reason": "TimedOut"},
    ),
    Case(
        "tekton-customrun.yaml",
        "wait-succeeds",
        {"customRef": {"apiVersion": "example.dev/v1", "kind": "Wait"}},
        {"conditions": [_cond("Succeeded", "Unknown", "Running", "waiting")], "startTime": T0},
        {"conditions": [_cond("Succeeded", "True", "Succeeded", "done")], "completionTime": T0},
        {"outcome": "succeeded", "condition": "Succeeded", "status": "True", "reason": "Succeeded"},
    ),
    Case(  # phase; the minimal CRD has no status subresource; Completed=True comes with Failed too
        "argo-workflow.yaml",
        "hello",
        {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}]},
        {"phase": "Running", "startedAt": T0, "conditions": [{"type": "PodRunning", "status": "True"}]},
        {
            "phase": "Failed",
            "message": "child 'hello-1234' failed",
            "startedAt": T0,
            "finishedAt": T0,
            "conditions": [
                {"type": "PodRunning", "status": "False"},
                {"type": "Completed", "status": "True"},
            ],
        },
        {"outcome": "failed", "phase": "Failed", "message": "child 'hello-1234' failed"},
    ),
    Case(  # a failed issuance: Issuing=False, reason Failed (cert-manager retries later, with backoff)
        "cert-manager-certificate.yaml",
        "web-tls",
        {
            "secretName": "web-tls",
            "dnsNames": ["web.example.com"],
            "issuerRef": {"name": "ca", "kind": "Issuer"},
        },
        {
            "conditions": [
                _cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
                _cond("Issuing", "True", "DoesNotExist", "Issuing certificate as Secret does not exist"),
            ]
        },
        {
            "conditions": [
                _cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
                _cond("Issuing", "False", "Failed", "The certificate request has failed to complete"),
            ],
            "failedIssuanceAttempts": 1,
            "lastFailureTime": T0,
        },
        {"outcome": "failed", "condition": "Issuing", "status": "False", "reason": "Failed"},
    ),
    Case(  # kstatus: Stalled=True; Flux leaves status.observedGeneration at -1 unless it succeeds
        "flux-kustomization.yaml",
        "apps",
        {
            "interval": "10m",
            "path": "./apps",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
        },
        {
            "observedGeneration": -1,
            "conditions": [
                _cond("Reconciling", "True", "Progressing", "Fetching manifests"),
                _cond("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
            ],
        },
        {
            "observedGeneration": -1,
            "conditions": [
                _cond("Ready", "False", "AccessDenied", "cross-namespace references are blocked"),
                _cond("Stalled", "True", "AccessDenied", "cross-namespace references are blocked"),
            ],
        },
        {"outcome": "failed", "condition": "Stalled", "status": "True", "reason": "AccessDenied"},
    ),
]


def _load(file: str) -> dict[str, Any]:
    (crd,) = [d for d in yaml.safe_load_all((CRDS / file).read_text()) if d]
    # A conversion webhook would make every request for the CRD's objects fail here, where
    # the operator's webhook does not run; the files kept have none (tests/data/crds/README.md),
    # and with a single version nothing needs converting, so one added later is dropped too.
    if (crd["spec"].get("conversion") or {}).get("strategy") == "Webhook":
        crd["spec"]["conversion"] = {"strategy": "None"}
    return dict(crd)


def _says(status: dict[str, Any]) -> tuple[Any, ...]:
    """What the completion rule reads (a schema prunes fields it does not know, such as
    observedGeneration in Tekton's Knative-style conditions)."""
    conds = status.get("conditions") or []
    return status.get("phase"), sorted((c["type"], c["status"], c.get("reason", "")) for c in conds)


async def _set_status(cluster: LocalCluster, case: Case, namespace: str, status: dict[str, Any]) -> None:
    args = ["patch", case.resource, case.name, "-n", namespace, "--type=merge"]
    if case.status_subresource:
        args.append("--subresource=status")
    await cluster.akubectl(*args, "-p", json.dumps({"status": status}))


async def test_crd_stories_close_with_the_operators_reason(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    crds = {c.file: _load(c.file) for c in CASES}
    for case in CASES:
        case.crd = crds[case.file]
    try:
        for crd in crds.values():
            await cluster.aapply(crd)
        for crd in crds.values():
            name = crd["metadata"]["name"]
            await cluster.akubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
        await asyncio.sleep(1)  # discovery catches up
        rules = [
            ResourceRule(gvr=f"{c.api_version}/{c.kind}", namespace_names=[namespace])
            for c in {c.file: c for c in CASES}.values()
        ]
        async with FaroRun(cluster, tmp_path, rules) as run:
            for case in CASES:
                manifest = {
                    "apiVersion": case.api_version,
                    "kind": case.kind,
                    "metadata": {"name": case.name},
                }
                await cluster.aapply({**manifest, "spec": case.spec}, namespace)
                await _set_status(cluster, case, namespace, case.running)
            await asyncio.sleep(3)  # three settle times: running is not terminal
            assert not run.closed, run.describe()
            for case in CASES:
                got = cluster.get(case.resource, case.name, namespace).get("status") or {}
                assert _says(got) == _says(case.running), f"{case.name}: the schema pruned {got}"
                await _set_status(cluster, case, namespace, case.final)
            stories = {case.name: await run.story_of(case.kind, case.name, timeout=60) for case in CASES}
        for case in CASES:
            story = stories[case.name]
            assert story.completion == "terminal", run.describe()
            meta = load_story(story_path(run.config.output_dir, story))["metadata"]
            assert meta["completion"] == "terminal"
            reason = meta["completion_reason"]
            assert reason.items() >= case.expect.items(), (case.name, reason)
            assert reason["state"].startswith(f"{case.kind} ")
    finally:
        for crd in crds.values():
            await cluster.akubectl("delete", "crd", crd["metadata"]["name"], "--wait=false", check=False)
