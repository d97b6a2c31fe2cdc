"""Where the benchmarks live and what they share: the repository, the Go sources, the cache.

Every benchmark module is imported as `benchmarks.<part>.<module>` and every child process is
started as `python -m benchmarks.<part>.<module>` with the repository as its working directory
(see `module()`), so no module puts anything on sys.path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent  # benchmarks/, with the Go sources in it
REPO = BENCH.parent
CACHE = Path.home() / ".cache/faro/bench"  # recording, Go binaries, results, source snapshots
BIN = CACHE / "bin"
SCRATCH = Path(os.environ.get("BENCH_SCRATCH", "/tmp/bench-scratch"))
PY = sys.executable
GO_SOURCES = {name: BENCH / name for name in ("replay", "informer", "logwriter")}
TESTBED_KUBECONFIG = Path.home() / ".cache/faro/kwok/clusters/faro/kubeconfig.yaml"


def module(name: str, *args: str) -> list[str]:
    """The command that runs benchmarks module `name` (e.g. "ingest.consumers") as a child;
    run it with cwd=REPO (`-m` puts the working directory first on the child's path)."""
    return [PY, "-m", f"benchmarks.{name}", *args]


def testbed_env() -> None:
    """KUBECONFIG = the testbed cluster's, and the testbed's bin directory (kubectl) on PATH."""
    os.environ.setdefault("KUBECONFIG", str(TESTBED_KUBECONFIG))
    bins = sorted((Path.home() / ".cache/faro/testbed").glob("*/bin"))
    if bins:
        os.environ["PATH"] = f"{bins[-1]}:{os.environ['PATH']}"
