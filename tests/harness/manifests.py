"""Small manifest builders for tests: just enough fields to be real objects."""

from __future__ import annotations

from typing import Any

IMAGE = "example.com/app:1"


def deployment(
    name: str, replicas: int = 2, image: str = IMAGE, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                # short, so rollouts (which now wait for old pods to be gone) finish quickly
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{"name": "app", "image": image}]},
            },
        },
    }


def bare_pod(
    name: str, containers: tuple[str, ...] = ("app",), annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"containers": [{"name": c, "image": IMAGE} for c in containers]},
    }


def job(name: str, exit_code: int = 0, run_time: str = "500ms") -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {
                    "annotations": {"faro.dev/exit-code": str(exit_code), "faro.dev/run-time": run_time}
                },
                "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": IMAGE}]},
            },
        },
    }


def crd(
    group: str, kind: str = "Widget", plural: str = "widgets", status_subresource: bool = True
) -> dict[str, Any]:
    """A schemaless CRD; without the status subresource, `status` is an ordinary field."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                    "subresources": {"status": {}} if status_subresource else {},
                }
            ],
        },
    }


def cluster_scoped_crd(group: str, kind: str = "Fleet", plural: str = "fleets") -> dict[str, Any]:
    """A schemaless CRD with `scope: Cluster` (its objects have no namespace)."""
    doc = crd(group, kind=kind, plural=plural)
    doc["spec"]["scope"] = "Cluster"
    return doc
