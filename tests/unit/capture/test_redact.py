"""faro.capture.fold.redact.strip_object: no secret values in stories, and no mutation of input."""

from __future__ import annotations

import copy
from typing import Any

from faro.capture.fold.redact import LAST_APPLIED, strip_object

APPLIED = '{"data":{"password":"aHVudGVyMg=="}}'
MANAGED = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:data": {}}}]


def _secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "default",
            "managedFields": copy.deepcopy(MANAGED),
            "annotations": {LAST_APPLIED: APPLIED, "team": "core"},
        },
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg==", "username": "YWRtaW4="},
        "stringData": {"token": "abc"},
    }


def _containers() -> list[dict[str, Any]]:
    return [
        {
            "name": "app",
            "image": "app:1",
            "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "API_KEY", "value": "k-123"},
                {"name": "GITHUB_TOKEN", "value": "ghp_x"},
                {"name": "LOG_LEVEL", "value": "debug"},
                {"name": "DB_SECRET_REF", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            ],
            "args": ["--password=s3cret", "--verbose", "--port=8080", "-api-key=abc"],
            "command": ["/bin/app", "--token=xyz"],
        }
    ]


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "managedFields": copy.deepcopy(MANAGED)},
        "spec": {"containers": _containers(), "initContainers": _containers()},
    }


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _assert_container_redacted(c: dict[str, Any]) -> None:
    env = _env(c)
    assert env["DB_PASSWORD"] == "<redacted: 7 bytes>"
    assert env["API_KEY"] == "<redacted: 5 bytes>"
    assert env["GITHUB_TOKEN"] == "<redacted: 5 bytes>"
    assert env["LOG_LEVEL"] == "debug"
    assert env["DB_SECRET_REF"] == {"secretKeyRef": {"name": "db", "key": "password"}}
    assert c["args"] == [
        "--password=<redacted: 6 bytes>",
        "--verbose",
        "--port=8080",
        "-api-key=<redacted: 3 bytes>",
    ]
    assert c["command"] == ["/bin/app", "--token=<redacted: 3 bytes>"]
    assert c["image"] == "app:1"


def test_secret_values_redacted_keys_kept() -> None:
    secret = _secret()
    before = copy.deepcopy(secret)
    out = strip_object(secret)
    assert out["data"] == {"password": "<redacted: 12 bytes>", "username": "<redacted: 8 bytes>"}
    assert out["stringData"] == {"token": "<redacted: 3 bytes>"}
    assert "managedFields" not in out["metadata"]
    assert out["metadata"]["annotations"] == {
        LAST_APPLIED: f"<redacted: {len(APPLIED)} bytes>",
        "team": "core",
    }
    assert out["metadata"]["name"] == "db"
    assert out["type"] == "Opaque"
    assert secret == before  # the input is not mutated


def test_redact_false_keeps_values_but_drops_managed_fields() -> None:
    secret = _secret()
    before = copy.deepcopy(secret)
    out = strip_object(secret, redact=False)
    assert out["data"] == before["data"]
    assert out["stringData"] == before["stringData"]
    assert out["metadata"]["annotations"] == before["metadata"]["annotations"]
    assert "managedFields" not in out["metadata"]
    assert secret == before

    pod = _pod()
    assert strip_object(pod, redact=False)["spec"] == _pod()["spec"]


def test_last_applied_redacted_on_any_kind() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"annotations": {LAST_APPLIED: "{}"}}, "data": {"k": "v"}}
    out = strip_object(cm)
    assert out["metadata"]["annotations"][LAST_APPLIED] == "<redacted: 2 bytes>"
    assert out["data"] == {"k": "v"}  # only Secrets have their data redacted


def test_pod_env_and_args_redacted() -> None:
    pod = _pod()
    before = copy.deepcopy(pod)
    out = strip_object(pod)
    _assert_container_redacted(out["spec"]["containers"][0])
    _assert_container_redacted(out["spec"]["initContainers"][0])
    assert "managedFields" not in out["metadata"]
    assert pod == before


def test_deployment_pod_template_redacted() -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "managedFields": copy.deepcopy(MANAGED)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": _containers()}},
        },
    }
    before = copy.deepcopy(deploy)
    out = strip_object(deploy)
    _assert_container_redacted(out["spec"]["template"]["spec"]["containers"][0])
    assert out["spec"]["replicas"] == 2
    assert out["spec"]["template"]["metadata"] == {"labels": {"app": "web"}}
    assert "managedFields" not in out["metadata"]
    assert deploy == before


def test_cronjob_job_template_redacted() -> None:
    """A CronJob's pod template lives at spec.jobTemplate.spec.template: its env is as secret."""
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "backup"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": _containers()}}}},
        },
    }
    out = strip_object(cron)
    _assert_container_redacted(out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0])


def test_objects_without_metadata_or_spec_pass_through() -> None:
    obj: dict[str, Any] = {"kind": "Weird", "spec": "not-a-dict"}
    assert strip_object(obj) == obj
    assert strip_object({}) == {}


def test_separate_flag_value_is_redacted() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "args": ["--password", "hunter2", "--verbose", "x"]}]},
    }
    args = strip_object(pod)["spec"]["containers"][0]["args"]
    assert args == ["--password", "<redacted: 7 bytes>", "--verbose", "x"]
