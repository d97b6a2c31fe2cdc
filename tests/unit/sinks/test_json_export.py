"""faro.sinks.json_export: the specification's JSONEvent lines, omitempty, a private timestamped file."""

from __future__ import annotations

import calendar
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from faro.config import ResourceRule
from faro.errors import ConfigError
from faro.sinks.json_export import JsonExport, record
from faro.sinks.matched import MatchedEvent

RULE = ResourceRule(gvr="apps/v1/Deployment")
STARTED = calendar.timegm((2026, 1, 2, 3, 4, 5))  # 2026-01-02T03:04:05Z


def _ev(event_type: str, meta: dict[str, Any], key: str, gvr: str = "apps/v1/deployments") -> MatchedEvent:
    return MatchedEvent(event_type, {"metadata": meta}, gvr, key, RULE, 1767323045.1234)  # type: ignore[arg-type]


def test_a_line_is_the_specifications_json_event_in_its_field_order() -> None:
    meta = {
        "name": "web",
        "namespace": "prod",
        "uid": "u-1",
        "labels": {"app": "web"},
        "resourceVersion": "7",
    }
    rec = record(_ev("UPDATED", meta, "prod/web"))
    assert list(rec) == ["timestamp", "eventType", "gvr", "namespace", "name", "uid", "labels"]
    assert rec == {
        "timestamp": "2026-01-02T03:04:05.123Z",
        "eventType": "UPDATED",
        "gvr": "apps/v1/deployments",
        "namespace": "prod",
        "name": "web",
        "uid": "u-1",
        "labels": {"app": "web"},
    }


def test_empty_namespace_uid_and_labels_are_left_out_as_omitempty_does() -> None:
    rec = record(_ev("DELETED", {"name": "prod-a", "labels": {}}, "prod-a", gvr="v1/namespaces"))
    assert rec == {
        "timestamp": "2026-01-02T03:04:05.123Z",
        "eventType": "DELETED",
        "gvr": "v1/namespaces",
        "name": "prod-a",
    }


def test_changes_go_to_a_private_timestamped_file_in_output_dir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export = JsonExport(out, started=STARTED)
    export.open()
    assert export.path == out / "events-20260102-030405.jsonl"
    assert stat.S_IMODE(export.path.stat().st_mode) == 0o600
    export.write(_ev("ADDED", {"name": "web", "namespace": "ns", "uid": "u"}, "ns/web"))
    export.flush()
    export.write(_ev("DELETED", {"name": "web", "namespace": "ns", "uid": "u"}, "ns/web"))
    export.close()
    lines = [orjson.loads(line) for line in export.path.read_bytes().splitlines()]
    assert [(d["eventType"], d["namespace"], d["name"], d["uid"]) for d in lines] == [
        ("ADDED", "ns", "web", "u"),
        ("DELETED", "ns", "web", "u"),
    ]


def test_each_run_gets_a_file_of_its_own_even_within_one_second(tmp_path: Path) -> None:
    first, second = JsonExport(tmp_path, started=STARTED), JsonExport(tmp_path, started=STARTED)
    first.open()
    second.open()
    assert (first.path.name, second.path.name) == (
        "events-20260102-030405.jsonl",
        "events-20260102-030405-2.jsonl",
    )
    for e in (first, second):
        e.write(_ev("ADDED", {"name": "a"}, "a"))
        e.close()
    assert len(list(tmp_path.iterdir())) == 2


def test_a_run_that_matched_nothing_leaves_nothing_behind(tmp_path: Path) -> None:
    export = JsonExport(tmp_path / "new" / "dir", started=STARTED)
    export.open()
    export.close()
    assert list(tmp_path.iterdir()) == []


def test_an_output_dir_it_cannot_write_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(
        ConfigError, match=r"^cannot write the JSON export to .*/a-file/out: Not a directory$"
    ):
        JsonExport(blocker / "out", started=STARTED).open()
