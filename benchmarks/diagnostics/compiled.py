"""Build a copy of Faro with its ingest path compiled by mypyc: a diagnostic, not what ships.

Why: the 0.6x-raw goal is far off, and the question every reader asks next is "would
compiling the Python close it?". mypyc (part of mypy, a dev dependency already) compiles
type-annotated modules to C extensions without changing a line of them, so the answer can
be measured rather than argued: the ingest benchmark runs this copy as the diagnostic
consumer "faro-mypyc", and stages.py times its router. Faro does not ship compiled (see
docs/benchmarks.md: a C toolchain at install time, run-time type checks on arbitrary
objects), so this lives here, in a cache directory, and never in src/.

The copy is built once per source digest into ~/.cache/faro/bench/src/<digest>-mypyc (about
20 s on 2 cores; needs gcc and the Python headers), from whichever `faro` this process
imports: run.py's source snapshot, or src/faro when a benchmark runs alone.

Usage: python -m benchmarks.diagnostics.compiled   (builds, prints the directory to put on PYTHONPATH)
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.common.paths import CACHE
from benchmarks.common.snapshot import source_digest

# Everything an event crosses from the watch stream to a story buffer that mypyc compiles.
# Left out: kube/decode.py (msgspec Structs with defaults do not compile), capture/engine.py
# (except*), capture/container_logs/manager.py (break inside try/finally): mypyc 1.x refuses those.
MODULES = [
    "faro/kube/reflector.py",
    "faro/capture/pipeline.py",
    "faro/capture/fold/router.py",
    "faro/capture/fold/owner_graph.py",
    "faro/capture/fold/story_book.py",
    "faro/capture/fold/diff.py",
    "faro/capture/fold/redact.py",
    "faro/capture/fold/pod_lifecycle.py",
    "faro/capture/fold/completion.py",
    "faro/model/events.py",
    "faro/model/story.py",
    "faro/model/buffer/stored.py",
    "faro/model/buffer/arena.py",
    "faro/model/timefmt.py",
    "faro/model/status.py",
    "faro/model/refs.py",
]
_EXT = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def build(source: Path | None = None) -> Path:
    """The directory holding the compiled copy (built if missing) of the `faro` at `source`."""
    snapshot = [Path(d) / "faro" for d in os.environ.get("PYTHONPATH", "").split(os.pathsep) if d]
    if source is None and (found := [d for d in snapshot if (d / "__init__.py").exists()]):
        source = found[0]  # the source snapshot the children import (common/snapshot.py)
    if source is None:  # found, not imported: a child forked after `import faro` would start
        # with this process's larger RSS as its peak (ru_maxrss survives fork and exec)
        spec = importlib.util.find_spec("faro")
        assert spec is not None and spec.submodule_search_locations is not None
        source = Path(next(iter(spec.submodule_search_locations))).resolve()
    dest = CACHE / "src" / f"{source_digest(source)}-mypyc"
    if (dest / ".built").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest / "faro", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    print(f"compiling {len(MODULES)} modules with mypyc into {dest} ...", file=sys.stderr)
    done = subprocess.run([sys.executable, "-m", "mypyc", *MODULES], cwd=dest, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"mypyc failed:\n{(done.stdout + done.stderr)[-2000:]}")
    missing = [m for m in MODULES if not list((dest / m).parent.glob(Path(m).stem + ".*.so"))]
    if missing:
        raise RuntimeError(f"mypyc built no extension for {missing}")
    shutil.rmtree(dest / "build", ignore_errors=True)
    (dest / ".built").write_text("\n".join(MODULES) + "\n")
    return dest


def compiled_modules() -> list[str]:
    """The faro modules this process runs compiled (loaded from an extension file)."""
    return sorted(
        name
        for name, mod in list(sys.modules.items())
        if name.startswith("faro.") and str(getattr(mod, "__file__", "") or "").endswith(_EXT)
    )


if __name__ == "__main__":
    print(build())
