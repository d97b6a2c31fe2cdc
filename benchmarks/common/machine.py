"""What a benchmark ran on: CPU, memory, interpreter and tool versions, load."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def sh(*cmd: str, cwd: Path | None = None, timeout: float | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, timeout=timeout)
    return done.stdout.strip()


def _try(*cmd: str) -> str:
    try:
        return sh(*cmd, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "?"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next(
        (x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), platform.processor()
    )
    mem = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
    try:
        kubectl = json.loads(sh("kubectl", "version", "--client", "-o", "json", timeout=60))
        kubectl_version = kubectl["clientVersion"]["gitVersion"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        kubectl_version = "?"
    return {
        "cpu": cpu,
        "nproc": os.cpu_count() or 0,
        "mem_gib": int(mem.split()[1]) / 2**20,
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "go": _try("go", "version").removeprefix("go version "),
        "faro": _try(sys.executable, "-c", "import faro; print(faro.__version__)"),
        "kubectl": kubectl_version,
        "load_before": load(),
    }
