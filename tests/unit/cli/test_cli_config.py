"""CLI -> config: precedence of flags over FARO_* env over the file; the published schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from faro.cli import main as cli_main
from faro.config import FaroConfig, schema

REPO = Path(__file__).resolve().parents[3]


def captured_config(monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]) -> FaroConfig:
    seen: dict[str, Any] = {}

    class FakeFaro:
        def __init__(self, config: FaroConfig, **_: Any) -> None:
            seen["config"] = config

    async def fake_run(faro: Any) -> int:
        return 0

    monkeypatch.setattr(cli_main, "Faro", FakeFaro)
    monkeypatch.setattr(cli_main, "_run", fake_run)
    monkeypatch.setattr(cli_main, "setup_logging", lambda *a: None)
    result = CliRunner().invoke(cli_main.capture, args, env=env)
    assert result.exit_code == 0, result.output
    return seen["config"]  # type: ignore[no-any-return]


def test_env_fills_what_flags_leave_and_flags_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg_file = tmp_path / "faro.yaml"
    cfg_file.write_text("max_log_streams: 3\ncorrelation_timeout: 1h\nresources: [{gvr: v1/pods}]\n")
    env = {"FARO_MAX_LOG_STREAMS": "7", "FARO_CORRELATION_TIMEOUT": "90s", "FARO_INCLUDE_LOGS": "false"}
    c = captured_config(monkeypatch, ["--config", str(cfg_file)], env)
    assert (c.max_log_streams, c.correlation_timeout, c.include_logs) == (7, 90.0, False)  # env over file
    c = captured_config(monkeypatch, ["--config", str(cfg_file), "--max-log-streams", "9"], env)
    assert c.max_log_streams == 9  # flag over env
    c = captured_config(monkeypatch, ["--config", str(cfg_file)], {})
    assert (c.max_log_streams, c.correlation_timeout) == (3, 3600.0)  # the file over defaults


def test_resource_flag_builds_one_rule_per_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    c = captured_config(
        monkeypatch, ["-r", "deploy, v1/Pod", "-n", "prod-.*,default", "--name", "web-.*"], {}
    )
    assert [r.gvr for r in c.resources] == ["deploy", "v1/Pod"]
    assert all(r.namespace_names == ["default"] and r.namespace_patterns == ["prod-.*"] for r in c.resources)
    assert all(r.name_pattern == "web-.*" for r in c.resources)


def test_metrics_address_from_flag_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    c = captured_config(monkeypatch, ["-r", "pods", "--metrics-address", "0.0.0.0"], {})
    assert c.metrics_address == "0.0.0.0"
    c = captured_config(monkeypatch, ["-r", "pods"], {"FARO_METRICS_ADDRESS": "::1"})
    assert c.metrics_address == "::1"
    assert captured_config(monkeypatch, ["-r", "pods"], {}).metrics_address == "127.0.0.1"


def test_a_resource_flag_of_only_commas_is_nothing_to_watch() -> None:
    result = CliRunner().invoke(cli_main.capture, ["-r", " , ,"])
    assert result.exit_code == 2
    assert result.output.strip() == "faro: error: nothing to watch: --resource ' , ,' names no resource"


def test_published_schema_is_current() -> None:
    assert json.loads((REPO / "docs" / "config.schema.json").read_text()) == schema()


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["-r", "pods", "--log-level", "warn"], {}),
        (["-r", "pods", "--log-level", "WARNING"], {}),
        (["-r", "pods"], {"FARO_LOG_LEVEL": "warn"}),
    ],
)
def test_warn_is_a_log_level_as_the_specification_lists_it(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    assert captured_config(monkeypatch, args, env).log_level == "warning"


def test_a_namespace_glob_from_the_command_line_is_a_glob(monkeypatch: pytest.MonkeyPatch) -> None:
    (rule,) = captured_config(monkeypatch, ["-r", "pods", "-n", "prod-*,staging"], {}).resources
    assert (rule.namespace_names, rule.namespace_patterns) == (["staging"], [r"prod\-.*"])
