"""The `faro` command against the real cluster: bad input exits 2 with one clear line,
and a real capture of two kinds in one --resource writes their stories."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.cluster import LocalCluster, wait_for
from tests.harness.manifests import bare_pod, deployment


def faro(
    cluster: LocalCluster, *args: str, timeout: float = 60, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "faro",
            *args,
            *(("--metrics-port", "0") if "--resource" in args or "--config" in args else ()),
        ],
        capture_output=True,
        text=True,
        env={**cluster.env, "KUBECONFIG": str(kubeconfig or cluster.kubeconfig)},
        timeout=timeout,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("faro: error: ")
    return lines[0]


def test_unknown_resource_exits_2_with_closest_matches(cluster: LocalCluster, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = faro(cluster, "--resource", "deploymnt", "-o", str(out))
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "unknown resource 'deploymnt'" in line and "deployments" in line
    assert not out.exists()  # nothing half-written


def test_invalid_regex_exits_2(cluster: LocalCluster, tmp_path: Path) -> None:
    proc = faro(cluster, "--resource", "pods", "--name", "web-(", "-o", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "invalid name regex 'web-('" in one_error_line(proc)
    proc = faro(cluster, "--resource", "pods", "--namespace", "prod-[", "-o", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "invalid namespace regex" in one_error_line(proc)


def test_a_selector_the_api_server_rejects_exits_2_with_its_reason(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    for flag, value, reason in (
        ("--label-selector", "a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("--field-selector", "spec.color=blue", "field label not supported: spec.color"),
    ):
        proc = faro(cluster, "--resource", "pods", flag, value, "-o", str(out))
        assert proc.returncode == 2
        assert one_error_line(proc) == f"faro: error: the API server rejects the selector of v1/Pod: {reason}"
        assert not out.exists()


def test_invalid_config_exits_2_naming_key_and_line(cluster: LocalCluster, tmp_path: Path) -> None:
    cfg = tmp_path / "faro.yaml"
    cfg.write_text("output_dir: out\nresources:\n  - gvr: v1/pods\n    scope: Galaxy\n")
    proc = faro(cluster, "--config", str(cfg))
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "line 4" in line and "resources.0.scope" in line and "Galaxy" in line
    cfg.write_text("resources: [\n")
    proc = faro(cluster, "--config", str(cfg))
    assert proc.returncode == 2
    assert "invalid YAML" in one_error_line(proc)
    cfg.write_text("output_dir: out\nnamespaces:\n  - name: default\n    resources: {}\n")
    proc = faro(cluster, "--config", str(cfg))
    assert proc.returncode == 2
    assert one_error_line(proc) == "faro: error: nothing to watch: the config has no resources"


def test_unwritable_outputs_exit_2_before_anything_is_written(cluster: LocalCluster, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    proc = faro(cluster, "--resource", "pods", "-o", str(a_file / "out"))
    assert proc.returncode == 2
    assert f"cannot write stories to {a_file / 'out'}: Not a directory" in one_error_line(proc)
    out = tmp_path / "out"
    no_dir = tmp_path / "no-dir" / "e.jsonl"
    proc = faro(cluster, "--resource", "pods", "-o", str(out), "--jsonl", str(no_dir))
    assert proc.returncode == 2
    assert "cannot write JSONL to" in one_error_line(proc)
    assert not out.exists()  # the story directory it had made is gone again
    jsonl = tmp_path / "e.jsonl"
    proc = faro(cluster, "--resource", "deploymnt", "-o", str(out), "--jsonl", str(jsonl))
    assert proc.returncode == 2
    assert not out.exists() and not jsonl.exists()


def test_metrics_port_in_use_exits_2_and_leaves_nothing(cluster: LocalCluster, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = faro(
            cluster, "-r", "v1/ConfigMap", "--metrics-port", str(port), "-o", str(out)
        )  # -r: no port 0
    assert proc.returncode == 2
    said = [ln for ln in proc.stderr.splitlines() if not ln.startswith("{")]  # not the JSON log
    assert said == [f"faro: error: cannot serve metrics on 127.0.0.1:{port}: address already in use"]
    assert not out.exists()


def test_bad_kubeconfig_and_unreachable_cluster(cluster: LocalCluster, tmp_path: Path) -> None:
    proc = faro(cluster, "--resource", "pods", "--kubeconfig", str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2
    assert "does not exist" in one_error_line(proc)
    for text, reason in (
        ("apiVersion: v1\nclusters: [\n", "not valid YAML (line 3)"),
        ("just a string\n", "not a kubeconfig (expected a mapping with clusters, contexts and users)"),
    ):
        broken = tmp_path / "broken.yaml"
        broken.write_text(text)
        proc = faro(cluster, "--resource", "pods", "--kubeconfig", str(broken))
        assert proc.returncode == 2
        assert one_error_line(proc) == f"faro: error: invalid kubeconfig {str(broken)!r}: {reason}"
    proc = faro(cluster, "--resource", "pods", "--context", "nope")
    assert proc.returncode == 2
    assert one_error_line(proc) == (
        f"faro: error: context 'nope' does not exist in kubeconfig {str(cluster.kubeconfig)!r}"
    )
    home = {k: v for k, v in cluster.env.items() if k != "KUBECONFIG"} | {"HOME": str(tmp_path)}
    nothing = subprocess.run(
        [sys.executable, "-m", "faro", "-r", "pods"], capture_output=True, text=True, env=home, timeout=60
    )
    assert nothing.returncode == 2
    assert one_error_line(nothing) == (
        f"faro: error: no kubeconfig: {tmp_path}/.kube/config does not exist, $KUBECONFIG is not set "
        "and Faro is not running in a pod (give --kubeconfig)"
    )
    proc = faro(cluster, "--resource", "pods", kubeconfig=tmp_path / "gone.yaml")  # via $KUBECONFIG
    assert proc.returncode == 2
    assert one_error_line(proc).endswith(
        f"kubeconfig {str(tmp_path / 'gone.yaml')!r} (from $KUBECONFIG) does not exist"
    )
    bad = tmp_path / "kc.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {token: abc}}]\n"
    )
    proc = faro(cluster, "--resource", "pods", "--kubeconfig", str(bad))
    assert proc.returncode == 1
    assert "cannot reach the API server" in one_error_line(proc)


def test_two_kinds_in_one_resource_flag(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    cluster.apply([deployment("web", replicas=1), bare_pod("lonely")], namespace)
    wait_for(
        "the deployment rollout",
        lambda: (
            cluster.run_kubectl(
                "rollout", "status", "-n", namespace, "deployment/web", "--timeout=1s"
            ).returncode
            == 0
        ),
    )
    out = tmp_path / "out"
    jsonl = tmp_path / "events.jsonl"
    proc = faro(
        cluster,
        "--resource",
        "apps/v1/Deployment,v1/Pod",
        "-n",
        namespace,
        "-o",
        str(out),
        "--duration",
        "6s",
        "--jsonl",
        str(jsonl),
    )
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in (out / namespace).glob("*.json"))
    kinds = {name.split("-", 1)[0] for name in files}
    assert kinds == {"deployment", "pod"}, files
    pod_names = {
        json.loads((out / namespace / f).read_text())["metadata"]["resource_name"]
        for f in files
        if f.startswith("pod-")
    }
    assert "lonely" in pod_names and len(pod_names) == 2  # the bare pod and the deployment's pod
    # --jsonl: every story event, as it happened, one JSON object per line
    lines = [json.loads(ln) for ln in jsonl.read_text().splitlines()]
    total = sum(json.loads((out / namespace / f).read_text())["metadata"]["event_count"] for f in files)
    assert len(lines) == total
    assert {ln["correlation_id"] for ln in lines} == {
        json.loads((out / namespace / f).read_text())["metadata"]["correlation_id"] for f in files
    }


@pytest.mark.parametrize("args", [("--version",), ("config-schema",)])
def test_informational_commands(cluster: LocalCluster, args: tuple[str, ...]) -> None:
    proc = faro(cluster, *args)
    assert proc.returncode == 0
    if args == ("config-schema",):
        assert "resources" in json.loads(proc.stdout)["properties"]
    else:
        assert proc.stdout.startswith("faro, version")


def test_jsonl_reader_gone_stops_with_one_line(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    """`faro … --jsonl - | head`: when the reader leaves, Faro stops, still writes its stories,
    and says why in one line: no traceback, no "Exception ignored" from Python's exit."""
    cluster.apply([bare_pod("lonely")], namespace)
    out = tmp_path / "out"
    args = ["--resource", "v1/Pod", "-n", namespace, "-o", str(out), "--jsonl", "-", "--duration", "60s"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "faro", *args, "--metrics-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)},
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first event
    _, err = proc.communicate(timeout=45)  # well before --duration: it stopped by itself
    assert proc.returncode == 1, err
    said = [ln for ln in err.decode().splitlines() if not ln.startswith("{")]  # not the JSON log
    why = "cannot write JSONL to standard output: Broken pipe"
    assert said == [f"faro: error: {why} (stories that were written are in {out})"]
    assert [p.name.split("-", 1)[0] for p in (out / namespace).glob("*.json")] == ["pod"]
    assert "not synced" not in err.decode()  # stopping while starting is not a slow watch
