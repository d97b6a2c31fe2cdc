"""Measure one version of Faro: the working tree may be edited while a suite runs, so src/faro is
copied once, named by its digest, and put first on the path of this process's children
(PYTHONPATH beats the editable install's .pth entry)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from benchmarks.common.paths import CACHE, REPO


def source_digest(root: Path) -> str:
    """A digest of a Faro source tree (its .py files), naming the version measured."""
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def snapshot_source() -> str:
    """Copy src/faro into ~/.cache/faro/bench/src/<digest> and put it first on PYTHONPATH for every
    child process (the measurements all run in children). Returns the digest."""
    tmp = CACHE / "src" / f"tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(REPO / "src" / "faro", tmp / "faro", ignore=shutil.ignore_patterns("__pycache__"))
    digest = source_digest(tmp / "faro")
    dest = CACHE / "src" / digest
    if dest.exists():
        shutil.rmtree(tmp)
    else:
        tmp.rename(dest)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")]))
    return digest


def tree_digest() -> str:
    return source_digest(REPO / "src" / "faro")
