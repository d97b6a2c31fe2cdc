"""A results file that is saved after every part: a run that dies later loses nothing measured.

Layout (JSON): each part's results under its own key (e.g. "ingest", "stages"), and under
"parts" what the runner knows of each: {"status": "ok" | "failed", "reason", "date",
"duration_s", "machine", "source"}. A part that fails keeps the results of its last successful
run, if any, and says so in "parts"; a part not run this time keeps everything it had.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


class Results:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.data.setdefault("parts", {})
        self._keys: set[str] = set()  # what this runner wrote: save() merges only these
        self._parts: set[str] = set()

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self._keys.add(key)

    def save(self) -> None:
        """Write what this runner changed over the file as it is now: another runner that saved a
        part meanwhile keeps it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        current = json.loads(self.path.read_text()) if self.path.exists() else {}
        parts = {**current.get("parts", {}), **{k: self.data["parts"][k] for k in self._parts}}
        current.update({k: self.data[k] for k in self._keys}, parts=parts)
        self.data = current
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)  # atomic: a crash mid-write leaves the previous file

    def run_part(
        self, name: str, fn: Callable[[], dict[str, Any]], context: dict[str, Any], log: Callable[[str], None]
    ) -> bool:
        """Run one part: fn() returns {results key: value}. Saved at once whatever happens;
        a failure is one line in the results ("part X failed: reason"), and the runner goes on."""
        t0 = time.time()
        info: dict[str, Any] = {"date": now(), **context}
        try:
            values = fn()
        except (Exception, KeyboardInterrupt) as exc:  # a part's failure must not lose the others
            reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
            last_ok = self.data["parts"].get(name, {})
            info.update(status="failed", reason=reason, duration_s=time.time() - t0)
            if last_ok.get("status") == "ok":
                info["kept"] = {k: last_ok[k] for k in ("date", "machine", "source") if k in last_ok}
            elif "kept" in last_ok:
                info["kept"] = last_ok["kept"]
            self.data["parts"][name] = info
            self._parts.add(name)
            self.save()
            log(f"part {name} failed: {reason}")
            log("".join(traceback.format_exception(exc)).rstrip())
            if isinstance(exc, KeyboardInterrupt):
                raise
            return False
        for key, value in values.items():
            self.set(key, value)
        info.update(status="ok", duration_s=time.time() - t0)
        self.data["parts"][name] = info
        self._parts.add(name)
        self.save()
        log(f"part {name}: done in {info['duration_s']:.0f} s, saved to {self.path}")
        return True
