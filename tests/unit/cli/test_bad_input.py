"""Bad input that fails before any cluster is reached: the real `faro` process, one line on
stderr, exit 2 (1 for a server that does not answer), nothing left behind, nothing hanging."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import faro
from faro import Faro, FaroConfig, ResourceRule

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""


def kubeconfig(
    tmp_path: Path,
    server: str = "https://127.0.0.1:1",
    user: str = "{token: abc}",
    name: str = "kubeconfig.yaml",
) -> Path:
    path = tmp_path / name
    path.write_text(KUBECONFIG.format(server=server, user=user))
    return path


def run_faro(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faro", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(kubeconfig(tmp_path, name="default.yaml")), **(env or {})},
        cwd=tmp_path,
        timeout=60,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == code and len(lines) == 1, (proc.returncode, proc.stderr)
    assert lines[0].startswith("faro: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--name", "a{99999999999}"),
        ("--namespace", "a{99999999999}"),
        ("--log-include", "(" * 2000 + ")" * 2000),
    ],
)
def test_regexes_python_cannot_compile_are_bad_input(tmp_path: Path, flag: str, value: str) -> None:
    proc = run_faro("-r", "v1/pods", flag, value, "-o", str(tmp_path / "out"), tmp_path=tmp_path)
    line = one_error_line(proc)
    assert "regex" in line and len(line) < 300  # a 4,000-character pattern is not echoed whole
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workers", "abc"], "Invalid value for '--workers'"),
        (["--duration", ""], "not a duration: ''"),
        (["--duration", "0"], "--duration must be more than 0"),
        (["--duration", "9" * 400 + "s"], "too long"),
        (["--jsonl", ""], "jsonl: must not be empty"),
        (["-o", ""], "output_dir: must not be empty"),
        (["--no-such-flag"], "No such option '--no-such-flag'"),
    ],
)
def test_bad_flags_are_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    assert says in one_error_line(run_faro("-r", "v1/pods", *args, tmp_path=tmp_path))


def test_a_bad_faro_variable_is_named(tmp_path: Path) -> None:
    line = one_error_line(run_faro("-r", "v1/pods", tmp_path=tmp_path, env={"FARO_METRICS_PORT": "x"}))
    assert "'--metrics-port'" in line and "$FARO_METRICS_PORT" in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x00\x9e\xff binary", "is not a text (UTF-8) file"),
        (b"namespaces: [{name_pattern: default, resources: {v1/pods: x}}]", "must be a mapping of options"),
    ],
)
def test_config_files_that_are_not_configs(tmp_path: Path, content: bytes, says: str) -> None:
    (tmp_path / "faro.yaml").write_bytes(content)
    assert says in one_error_line(run_faro("--config", "faro.yaml", tmp_path=tmp_path))


@pytest.mark.parametrize(("flag", "value"), [("--service-account", "Bad Name!"), ("--sa-namespace", "!!")])
def test_rbac_refuses_names_the_cluster_would(tmp_path: Path, flag: str, value: str) -> None:
    proc = run_faro("rbac", "-r", "v1/pods", flag, value, tmp_path=tmp_path)
    assert f"{flag} {value!r} is not a valid" in one_error_line(proc)
    assert proc.stdout == ""


def test_a_fifo_nobody_reads_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "events")
    started = time.monotonic()
    proc = run_faro("-r", "v1/pods", "--jsonl", "events", "-o", "out", tmp_path=tmp_path)
    assert "nothing is reading that FIFO" in one_error_line(proc)
    assert time.monotonic() - started < 30 and not (tmp_path / "out").exists()


def test_a_token_with_a_line_break_is_a_kubeconfig_error(tmp_path: Path) -> None:
    kc = kubeconfig(tmp_path, user='{token: "abc\\nsecond"}')
    proc = run_faro("-r", "v1/pods", "--kubeconfig", str(kc), tmp_path=tmp_path)
    assert "token contains a line break" in one_error_line(proc)
    assert "second" not in proc.stderr


def test_a_failing_exec_plugin_is_named_once(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text("#!/bin/sh\necho 'login failed for bob' >&2\nexit 1\n")
    plugin.chmod(0o755)
    user = f"{{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: {plugin}}}}}"
    proc = run_faro("-r", "v1/pods", "--kubeconfig", str(kubeconfig(tmp_path, user=user)), tmp_path=tmp_path)
    line = one_error_line(proc)  # kubernetes_asyncio's own log line of it used to come first
    assert "exec credential plugin failed" in line and "login failed for bob" in line


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Takes connections and never answers (a hung API server, a wrong port behind a proxy)."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        yield f"https://127.0.0.1:{srv.getsockname()[1]}"


def test_a_server_that_never_answers_fails_in_seconds(tmp_path: Path, silent_server: str) -> None:
    started = time.monotonic()
    proc = run_faro(
        "-r",
        "v1/pods",
        "--kubeconfig",
        str(kubeconfig(tmp_path, silent_server)),
        "-o",
        "out",
        tmp_path=tmp_path,
    )
    assert "no answer (timed out)" in one_error_line(proc, code=1)
    assert time.monotonic() - started < 30  # was 60 s, and a signal could not stop it


def test_a_signal_stops_a_start_that_hangs(tmp_path: Path, silent_server: str) -> None:
    kc = kubeconfig(tmp_path, silent_server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "faro", "-r", "v1/pods", "--kubeconfig", str(kc), "-o", "out"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(3)  # connecting, before the 10 s connect timeout
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 3, err
    assert proc.returncode == 0 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


async def test_the_library_stops_a_start_that_hangs(tmp_path: Path, silent_server: str) -> None:
    config = FaroConfig(
        resources=[ResourceRule(gvr="v1/pods")],
        kubeconfig=str(kubeconfig(tmp_path, silent_server)),
        output_dir=tmp_path / "out",
        metrics_port=0,
    )
    capture = Faro(config)
    task = asyncio.create_task(capture.run())
    await asyncio.sleep(1)
    capture.stop()
    await asyncio.wait_for(task, 3)  # returns: nothing was started, nothing to flush


def test_the_library_wants_a_faroconfig() -> None:
    with pytest.raises(TypeError, match="Faro needs a FaroConfig"):
        Faro(None)  # type: ignore[arg-type]
    assert issubclass(faro.ApiError, faro.KubeError)


def test_an_empty_kubeconfig_flag_means_the_default_one_as_for_kubectl(tmp_path: Path) -> None:
    """`--kubeconfig "$KC"` with KC unset: kubectl falls back to $KUBECONFIG; so does Faro
    (here the default points at a closed port, so it fails there, not on the flag)."""
    assert FaroConfig(resources=[ResourceRule(gvr="v1/pods")], kubeconfig="").kubeconfig is None
    proc = run_faro("-r", "v1/pods", "--kubeconfig", "", "-o", "out", tmp_path=tmp_path)
    line = one_error_line(proc, code=1)
    assert "127.0.0.1:1" in line and "must not be empty" not in line
