"""The specification's own config examples (002), through the real CLI and API server:
`faro rbac` grants what they capture and no more."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from tests.cluster.test_deploy import faro_rbac
from tests.harness.cluster import LocalCluster


def test_rbac_for_the_specifications_simple_example_is_one_namespace(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    """`name_selector: "default"` used to be ignored: the rule fell back to every namespace
    and `faro rbac` printed a ClusterRole."""
    config = tmp_path / "simple.yaml"
    config.write_text(
        textwrap.dedent(
            """
            output_dir: "./logs"
            log_level: "info"
            json_export: true

            namespaces:
              - name_selector: "default"
                resources:
                  "v1/pods":
                    label_selector: "app=nginx"
            """
        )
    )
    docs = list(yaml.safe_load_all(faro_rbac(cluster, "--config", str(config), "--sa-namespace", "faro")))
    assert [d["kind"] for d in docs] == ["ServiceAccount", "Role", "RoleBinding"]
    role = docs[1]
    assert role["metadata"]["namespace"] == "default"
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "pods/log", "events"} <= granted
