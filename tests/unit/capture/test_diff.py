"""faro.capture.fold.diff.changes: which paths changed, from what, to what."""

from __future__ import annotations

from typing import Any

from faro.capture.fold.diff import MAX_CHANGES, changes


def _deploy(replicas: int, rv: str = "1", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": rv, "generation": 1},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": "a:1"}]}}},
        "status": dict(status),
    }


def test_identical_objects_have_no_changes() -> None:
    assert changes(_deploy(2), _deploy(2)) == []


def test_nested_dict_path() -> None:
    assert changes(_deploy(2), _deploy(3)) == [{"path": "spec.replicas", "old": 2, "new": 3}]


def test_resource_version_is_ignored() -> None:
    assert changes(_deploy(2, rv="100"), _deploy(2, rv="101")) == []
    assert changes(_deploy(2, rv="100"), _deploy(3, rv="101")) == [
        {"path": "spec.replicas", "old": 2, "new": 3}
    ]


def test_managed_fields_are_ignored_but_other_metadata_is_not() -> None:
    old, new = _deploy(1), _deploy(1)
    new["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    new["metadata"]["generation"] = 2
    assert changes(old, new) == [{"path": "metadata.generation", "old": 1, "new": 2}]


def test_nested_resource_version_elsewhere_is_not_ignored() -> None:
    old = {"spec": {"metadata": {"resourceVersion": "1"}}}
    new = {"spec": {"metadata": {"resourceVersion": "2"}}}
    assert changes(old, new) == [{"path": "spec.metadata.resourceVersion", "old": "1", "new": "2"}]


def test_list_items_are_compared_by_index() -> None:
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    running = {"running": {"startedAt": "2026-01-02T03:04:05Z"}}
    old = {"status": {"containerStatuses": [{"name": "app", "state": waiting, "ready": False}]}}
    new = {"status": {"containerStatuses": [{"name": "app", "state": running, "ready": True}]}}
    assert changes(old, new) == [
        {"path": "status.containerStatuses[0].ready", "old": False, "new": True},
        {"path": "status.containerStatuses[0].state.running", "old": None, "new": running["running"]},
        {"path": "status.containerStatuses[0].state.waiting", "old": waiting["waiting"], "new": None},
    ]


def test_nested_lists_index_path() -> None:
    old = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b"}]}}}}
    new = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:2"}, {"name": "b"}]}}}}
    assert changes(old, new) == [
        {"path": "spec.template.spec.containers[0].image", "old": "x:1", "new": "x:2"}
    ]


def test_lists_of_different_lengths_are_reported_whole() -> None:
    old = {"status": {"conditions": [{"type": "Available"}]}}
    new = {"status": {"conditions": [{"type": "Available"}, {"type": "Progressing"}]}}
    assert changes(old, new) == [
        {"path": "status.conditions", "old": old["status"]["conditions"], "new": new["status"]["conditions"]}
    ]


def test_added_and_removed_keys() -> None:
    old = {"metadata": {"labels": {"a": "1", "gone": "x"}}}
    new = {"metadata": {"labels": {"a": "1", "new": "y"}}}
    assert changes(old, new) == [
        {"path": "metadata.labels.gone", "old": "x", "new": None},
        {"path": "metadata.labels.new", "old": None, "new": "y"},
    ]


def test_type_change_is_reported_at_that_path() -> None:
    assert changes({"status": {"x": [1]}}, {"status": {"x": {"a": 1}}}) == [
        {"path": "status.x", "old": [1], "new": {"a": 1}}
    ]


def test_order_is_deterministic_and_sorted_by_key() -> None:
    keys = ["zeta", "alpha", "mid", "beta"]
    old = {"data": {k: 0 for k in keys}}
    new_a = {"data": {k: 1 for k in keys}}
    new_b = {"data": {k: 1 for k in reversed(keys)}}
    paths_a = [c["path"] for c in changes(old, new_a)]
    paths_b = [c["path"] for c in changes(old, new_b)]
    assert paths_a == paths_b == ["data.alpha", "data.beta", "data.mid", "data.zeta"]


def test_number_of_changes_is_capped() -> None:
    old = {"data": {f"k{i:04d}": 0 for i in range(MAX_CHANGES + 50)}}
    new = {"data": {f"k{i:04d}": 1 for i in range(MAX_CHANGES + 50)}}
    out = changes(old, new)
    assert len(out) == MAX_CHANGES
    assert out[0]["path"] == "data.k0000"
