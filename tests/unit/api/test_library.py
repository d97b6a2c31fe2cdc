"""The library contract of spec 002: add_event_handler, MatchedEvent, load_config, json_export."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

import faro
from faro import Faro, FaroConfig, MatchedEvent, ResourceRule, load_config
from faro.capture.filters import PrimaryRule
from faro.capture.fold.owner_graph import Correlator
from faro.capture.fold.roles import PRIMARY
from faro.capture.fold.router import Router
from faro.capture.fold.story_book import StoryBook
from faro.model.events import WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.sinks.base import FanOut
from faro.sinks.handlers import Handlers
from faro.sinks.json_export import JsonExport

DEPLOY = ResourceType(GVR("apps", "v1", "deployments"), "Deployment", True, frozenset({"list", "watch"}))


def test_the_public_api_has_the_handler_interface_and_load_config() -> None:
    assert {"MatchedEvent", "load_config", "EventHandler"} <= set(faro.__all__)
    assert callable(Faro.add_event_handler)


def test_load_config_reads_a_yaml_file_of_the_specifications_shape(tmp_path: Path) -> None:
    path = tmp_path / "faro.yaml"
    path.write_text(
        'output_dir: "./logs"\nlog_level: "info"\nauto_shutdown_sec: 120\njson_export: true\n'
        'namespaces:\n  - name_selector: "default"\n    resources:\n'
        '      "v1/pods":\n        label_selector: "app=nginx"\n'
    )
    config = load_config(path)
    assert isinstance(config, FaroConfig)
    assert config.json_export is True and config.write_stories is True
    assert [(r.gvr, r.namespace_names, r.label_selector) for r in config.resources] == [
        ("v1/pods", ["default"], "app=nginx")
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("workers: 0\n")
    with pytest.raises(faro.ConfigError, match=r"bad\.yaml: line 1 workers"):
        load_config(bad)


def test_json_export_is_off_by_default_and_write_stories_means_story_files() -> None:
    rules = [ResourceRule(gvr="apps/v1/Deployment")]
    default = FaroConfig(resources=rules)
    assert (default.json_export, default.write_stories) == (False, True)
    assert Faro(default).files is not None
    assert Faro(FaroConfig(resources=rules, write_stories=False)).files is None
    assert Faro(FaroConfig(resources=rules, write_stories=False, json_export=True)).files is None


def test_add_event_handler_takes_objects_with_on_matched_before_run() -> None:
    class H:
        def on_matched(self, ev: MatchedEvent) -> None:
            pass

    f = Faro(FaroConfig(resources=[ResourceRule(gvr="apps/v1/Deployment")]))
    assert f.status() is None  # nothing captured yet
    f.add_event_handler(H())
    f.add_event_handler(H())
    with pytest.raises(TypeError, match="on_matched"):
        f.add_event_handler(object())  # type: ignore[arg-type]
    f._running = True
    with pytest.raises(RuntimeError, match="before run"):
        f.add_event_handler(H())


def _dep(name: str, ns: str, rv: int, typ: WatchType = WatchType.MODIFIED) -> WatchEvent:
    meta = {
        "name": name,
        "namespace": ns,
        "uid": f"uid-{name}",
        "resourceVersion": str(rv),
        "labels": {"app": name},
        "managedFields": [{"manager": "kubectl"}],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{secret}"},
    }
    return WatchEvent(typ, DEPLOY, {"kind": "Deployment", "metadata": meta}, 1767323045.5 + rv)


def _router(on_matched: Any) -> Router:
    book = StoryBook(cluster="c", on_event=lambda s, e: None, on_close=lambda s: None, settle=3.0)
    return Router(book, Correlator(), on_matched=on_matched)


def test_the_router_reports_each_matched_change_once_with_the_first_rule_that_matches() -> None:
    other = ResourceRule(gvr="apps/v1/Deployment", namespace_names=["other"])
    first = ResourceRule(gvr="apps/v1/Deployment", namespace_names=["ns"], name_selector="web")
    second = ResourceRule(gvr="apps/v1/Deployment", namespace_patterns=[".*"])
    rules = tuple(PrimaryRule.compile(r, DEPLOY) for r in (other, first, second))
    got: list[tuple[WatchType, str, dict[str, Any], ResourceRule]] = []
    router = _router(lambda ev, obj, rule: got.append((ev.type, ev.meta["name"], obj, rule)))
    roles = frozenset({PRIMARY})
    router.route(_dep("web", "ns", 1, WatchType.ADDED), roles, rules)
    router.route(_dep("web", "ns", 1, WatchType.ADDED), roles, rules)  # the same change again
    router.route(_dep("api", "ns", 2), roles, rules)
    router.route(_dep("web", "ns", 3, WatchType.DELETED), roles, rules)
    router.route(_dep("web", "elsewhere", 4), roles, rules[:2])  # matches no rule
    assert [(t, n, r) for t, n, _, r in got] == [
        (WatchType.ADDED, "web", first),
        (WatchType.MODIFIED, "api", second),
        (WatchType.DELETED, "web", first),
    ]
    meta = got[0][2]["metadata"]  # as stories hold it: stripped, redacted
    assert "managedFields" not in meta
    assert meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].startswith("<redacted")


def test_no_handler_and_no_export_install_nothing_in_the_router() -> None:
    f = Faro(FaroConfig(resources=[ResourceRule(gvr="apps/v1/Deployment")]))
    assert f._matched(FanOut([Handlers([])], lambda exc: None)) is None


async def test_matched_changes_reach_handlers_the_export_and_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Keep:
        def __init__(self) -> None:
            self.events: list[MatchedEvent] = []

        async def on_matched(self, ev: MatchedEvent) -> None:
            self.events.append(ev)

    rule = ResourceRule(gvr="apps/v1/Deployment", namespace_names=["ns"])
    f = Faro(FaroConfig(resources=[rule], output_dir=tmp_path, json_export=True))
    keep = Keep()
    handlers = Handlers([keep])
    export = JsonExport(tmp_path, started=0)
    export.open()
    handlers.start()
    on_matched = f._matched(FanOut([export, handlers], lambda exc: None))
    assert on_matched is not None
    router = _router(on_matched)
    rules = (PrimaryRule.compile(rule, DEPLOY),)
    with caplog.at_level(logging.INFO, logger="faro.matched"):
        for ev in (
            _dep("web", "ns", 1, WatchType.ADDED),
            _dep("web", "ns", 2),
            _dep("web", "ns", 3, WatchType.DELETED),
        ):
            router.route(ev, frozenset({PRIMARY}), rules)
    await handlers.stop()
    export.close()
    assert [(e.event_type, e.gvr, e.key, e.rule, e.timestamp) for e in keep.events] == [
        ("ADDED", "apps/v1/deployments", "ns/web", rule, 1767323046.5),
        ("UPDATED", "apps/v1/deployments", "ns/web", rule, 1767323047.5),
        ("DELETED", "apps/v1/deployments", "ns/web", rule, 1767323048.5),
    ]
    assert keep.events[0].object["metadata"]["uid"] == "uid-web"
    lines = [orjson.loads(line) for line in export.path.read_bytes().splitlines()]
    assert [(d["eventType"], d["gvr"], d["namespace"], d["name"], d["uid"], d["labels"]) for d in lines] == [
        (t, "apps/v1/deployments", "ns", "web", "uid-web", {"app": "web"})
        for t in ("ADDED", "UPDATED", "DELETED")
    ]
    assert lines[0]["timestamp"] == "2026-01-02T03:04:06.500Z"
    logged = [r.getMessage() for r in caplog.records if r.name == "faro.matched"]
    assert logged == [
        "CONFIG [ADDED] apps/v1/deployments ns/web",
        "CONFIG [UPDATED] apps/v1/deployments ns/web",
        "CONFIG [DELETED] apps/v1/deployments ns/web",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "faro.matched")
