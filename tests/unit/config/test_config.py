"""faro.config: both YAML shapes, durations, namespace specs and precise error messages."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from faro.config import (
    FaroConfig,
    build_config,
    load_yaml,
    parse_duration,
    schema,
    split_namespaces,
)
from faro.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "faro.yaml"
    p.write_text(textwrap.dedent(text).lstrip())
    return p


def test_namespace_centric_shape_becomes_resource_rules() -> None:
    cfg = build_config(
        {
            "namespaces": [
                {
                    "name_pattern": "prod-.*",
                    "resources": {"v1/pods": {"label_selector": "app=web", "name_pattern": "^web-"}},
                },
                {"name_pattern": "default", "resources": {"apps/v1/deployments": None}},
            ]
        }
    )
    pods, deps = cfg.resources
    assert pods.gvr == "v1/pods"
    assert pods.namespace_patterns == ["prod-.*"]
    assert pods.namespace_names == []
    assert pods.label_selector == "app=web"
    assert pods.name_pattern == "^web-"
    assert not pods.all_namespaces
    # A plain name under the name_pattern key still means exactly that namespace.
    assert deps.gvr == "apps/v1/deployments"
    assert (deps.namespace_names, deps.namespace_patterns) == (["default"], [])
    assert deps.name_pattern is None


def test_the_specifications_simple_example_captures_one_namespace() -> None:
    """002's "Simple Resource Monitoring": `name_selector` is the namespace key. It was
    ignored, and the rule fell back to every namespace."""
    cfg = build_config(
        {
            "output_dir": "./logs",
            "log_level": "info",
            "json_export": True,
            "namespaces": [
                {"name_selector": "default", "resources": {"v1/pods": {"label_selector": "app=nginx"}}}
            ],
        }
    )
    (pods,) = cfg.resources
    assert (pods.namespace_names, pods.namespace_patterns) == (["default"], [])
    assert not pods.all_namespaces
    assert pods.label_selector == "app=nginx"
    (prod,) = build_config(
        {"namespaces": [{"name_selector": "prod-.*", "resources": {"v1/pods": {}}}]}
    ).resources
    assert prod.namespace_patterns == ["prod-.*"] and not prod.all_namespaces


def test_namespace_entry_without_a_selector_is_every_namespace_and_two_selectors_are_refused() -> None:
    (rule,) = build_config({"namespaces": [{"resources": {"v1/pods": None}}]}).resources
    assert rule.all_namespaces
    with pytest.raises(ConfigError, match=r"has both 'name_selector' and 'name_pattern'"):
        build_config(
            {"namespaces": [{"name_selector": "a", "name_pattern": "b", "resources": {"v1/pods": {}}}]}
        )
    with pytest.raises(ConfigError, match=r"must not be empty"):
        build_config({"namespaces": [{"name_selector": " ", "resources": {"v1/pods": {}}}]})


@pytest.mark.parametrize(
    ("data", "where", "closest"),
    [
        (
            {"namespaces": [{"name_selectr": "default", "resources": {"v1/pods": {}}}]},
            "namespaces.0.name_selectr",
            "name_selector",
        ),
        (
            {"namespaces": [{"name_selector": "a", "resources": {"v1/pods": {"label_selectr": "x=y"}}}]},
            "namespaces.0.resources['v1/pods'].label_selectr",
            "label_selector",
        ),
        (
            {"namespaces": [{"name_selector": "a", "resources": {"v1/pods": {"namespace_names": ["b"]}}}]},
            "namespaces.0.resources['v1/pods'].namespace_names",
            None,
        ),
        (
            {"resources": [{"gvr": "v1/pods", "namespace_name": ["a"]}]},
            "resources.0.namespace_name",
            "namespace_names",
        ),
        ({"resources": [{"gvr": "v1/pods", "bogus": 1}]}, "resources.0.bogus", None),
        ({"outputdir": "x"}, "outputdir", "output_dir"),
        ({"namespace": [{"name_selector": "a", "resources": {}}]}, "namespace", "namespaces"),
    ],
)
def test_unknown_key_is_an_error_with_the_closest_valid_key(
    data: dict[str, object], where: str, closest: str | None
) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(data)
    key = where.rsplit(".", 1)[-1]
    hint = f" (did you mean {closest!r}?)" if closest else ""
    assert str(info.value) == f"{where}: unknown key {key!r}{hint}"


def test_unknown_key_in_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        output_dir: ./logs
        namespaces:
          - name_selector: default
            resources:
              "v1/pods":
                label_selectr: app=nginx
        """,
    )
    with pytest.raises(ConfigError) as info:
        build_config(load_yaml(path), source=path)
    assert str(info.value) == (
        f"{path}: line 6 namespaces.0.resources['v1/pods'].label_selectr: unknown key 'label_selectr'"
        " (did you mean 'label_selector'?)"
    )


@pytest.mark.parametrize("level", ["warn", "WARN", "warning"])
def test_warn_and_warning_are_one_log_level(level: str) -> None:
    assert build_config({"log_level": level}).log_level == "warning"


@pytest.mark.parametrize(
    ("written", "regex", "matches", "misses"),
    [
        ("prod-*", r"prod\-.*", ["prod-a", "prod-", "prod-eu-1"], ["prod", "staging-prod-a", "prodx"]),
        ("prod-.*", "prod-.*", ["prod-a", "prod-"], ["prod", "xprod-a"]),
        ("team-?", r"team\-.", ["team-a"], ["team-ab", "team-"]),
        ("*", ".*", ["anything"], []),
        ("*-prod", r".*\-prod", ["eu-prod"], ["prod"]),
        ("^(a|b)$", "^(a|b)$", ["a", "b"], ["c"]),
    ],
)
def test_namespace_globs_and_regexes_both_do_what_their_writer_meant(
    written: str, regex: str, matches: list[str], misses: list[str]
) -> None:
    from faro.capture.filters import NamespaceFilter

    names, patterns = split_namespaces(written)
    assert (names, patterns) == ([], [regex])
    (rule,) = build_config({"resources": [{"gvr": "v1/pods", "namespace_patterns": [written]}]}).resources
    assert rule.namespace_patterns == [regex]
    (entry,) = build_config(
        {"namespaces": [{"name_selector": written, "resources": {"v1/pods": {}}}]}
    ).resources
    assert entry.namespace_patterns == [regex]
    f = NamespaceFilter.of([], patterns)
    assert [ns for ns in matches if f.match(ns)] == matches
    assert [ns for ns in misses if f.match(ns)] == []


def test_name_globs_are_globs_too() -> None:
    (rule,) = build_config({"resources": [{"gvr": "v1/pods", "name_pattern": "web-*"}]}).resources
    assert rule.name_pattern == r"web\-.*"
    (rule,) = build_config({"resources": [{"gvr": "v1/pods", "name_pattern": "web-.*"}]}).resources
    assert rule.name_pattern == "web-.*"


def test_namespace_centric_entry_without_resources_mapping_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"namespaces\[0\] needs a 'resources' mapping"):
        build_config({"namespaces": [{"name_pattern": "x", "resources": ["v1/pods"]}]})


def test_resource_centric_shape_keeps_every_field() -> None:
    cfg = build_config(
        {
            "resources": [
                {
                    "gvr": "apps/v1/Deployment",
                    "scope": "Namespaced",
                    "namespace_names": ["default"],
                    "namespace_patterns": ["team-.*"],
                    "name_pattern": "^api$",
                    "label_selector": "tier=backend",
                    "field_selector": "metadata.name=api",
                }
            ]
        }
    )
    (rule,) = cfg.resources
    assert rule.gvr == "apps/v1/Deployment"
    assert rule.scope == "Namespaced"
    assert rule.namespace_names == ["default"]
    assert rule.namespace_patterns == ["team-.*"]
    assert rule.name_pattern == "^api$"
    assert rule.label_selector == "tier=backend"
    assert rule.field_selector == "metadata.name=api"
    assert not rule.all_namespaces


def test_name_selector_is_an_alias_of_name_pattern() -> None:
    (rule,) = build_config({"resources": [{"gvr": "v1/pods", "name_selector": "^db-"}]}).resources
    assert rule.name_pattern == "^db-"
    assert rule.all_namespaces  # no names and no patterns: everywhere


def test_bad_scope_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"resources\.0\.scope"):
        build_config({"resources": [{"gvr": "v1/pods", "scope": "Global"}]})


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5m", 300.0), ("30s", 30.0), ("250ms", 0.25), (300, 300.0), ("300", 300.0), ("1h", 3600.0), (1.5, 1.5)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["5x", "", "m", "-5s", True])
def test_parse_duration_rejects_garbage(value: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)


def test_durations_are_parsed_in_config() -> None:
    cfg = build_config({"correlation_timeout": "2m", "auto_shutdown_sec": "90s"})
    assert cfg.correlation_timeout == 120.0
    assert cfg.auto_shutdown_sec == 90.0
    with pytest.raises(ConfigError, match=r"^correlation_timeout: not a duration: '5x'"):
        build_config({"correlation_timeout": "5x"})


def test_split_namespaces_names_patterns_and_all() -> None:
    assert split_namespaces("default, kube-system") == (["default", "kube-system"], [])
    assert split_namespaces("team-.*,prod") == (["prod"], ["team-.*"])
    assert split_namespaces("all") == ([], [".*"])
    assert split_namespaces(" , ") == ([], [])


def test_split_namespaces_invalid_regex() -> None:
    with pytest.raises(ValueError, match=r"invalid namespace regex '\(\['"):
        split_namespaces("ok,([")


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ({"gvr": "v1/pods", "name_pattern": "(["}, "resources.0.name_pattern"),
        ({"gvr": "v1/pods", "name_selector": "(["}, "resources.0.name_selector"),
        ({"gvr": "v1/pods", "namespace_patterns": ["ok", "(["]}, "resources.0.namespace_patterns"),
    ],
)
def test_invalid_regex_names_the_key(rule: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config({"resources": [rule]})
    msg = str(info.value)
    assert msg.startswith(f"{key}: invalid ")
    assert "regex '(['" in msg


def test_build_config_from_file_reports_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        workers: 3
        resources:
          - gvr: v1/pods
          - gvr: apps/v1/Deployment
            name_pattern: "(["
        """,
    )
    data = load_yaml(path)
    with pytest.raises(ConfigError) as info:
        build_config(data, source=path)
    assert str(info.value).startswith(f"{path}: line 5 resources.1.name_pattern: invalid name regex")


def test_valid_file_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, "workers: 7\nlog_level: DEBUG\nresources:\n  - gvr: v1/pods\n")
    cfg = build_config(load_yaml(path), source=path)
    assert cfg.workers == 7
    assert cfg.log_level == "debug"
    assert [r.gvr for r in cfg.resources] == ["v1/pods"]


def test_empty_file_is_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    assert load_yaml(path) == {}
    assert build_config({}).workers == 5


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "workers: 3\nresources:\n  - gvr: [v1/pods\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: line \d+ invalid YAML"):
        load_yaml(path)
    path.write_text("workers: 1\n\tbad: tab\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: line 2 invalid YAML"):
        load_yaml(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_yaml(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_yaml(tmp_path / "nope.yaml")


def test_schema_describes_resources() -> None:
    s = schema()
    assert "resources" in s["properties"]
    assert s["properties"]["resources"]["type"] == "array"
    rule = s["$defs"]["ResourceRule"]
    assert {"gvr", "name_pattern", "namespace_patterns"} <= set(rule["properties"])
    assert rule["required"] == ["gvr"]


def test_paths_from_a_file_expand_the_home_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    c = FaroConfig(output_dir="~/stories", kubeconfig="~/.kube/config", jsonl="~/events.jsonl")
    assert (c.output_dir, c.kubeconfig, c.jsonl) == (
        tmp_path / "stories",
        str(tmp_path / ".kube/config"),
        str(tmp_path / "events.jsonl"),
    )
    assert FaroConfig(jsonl="-").jsonl == "-" and FaroConfig().output_dir == Path("output")
