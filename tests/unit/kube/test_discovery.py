"""faro.kube.discovery: resolving what users type, and parsing both discovery formats."""

from __future__ import annotations

import pytest

from faro.errors import UnknownResourceError
from faro.kube.discovery import _from_aggregated, _from_resource_list, resolve_name
from faro.model.refs import GVR, ResourceType

WATCH = frozenset({"get", "list", "watch"})

DEPLOYMENT = ResourceType(
    GVR("apps", "v1", "deployments"), "Deployment", True, WATCH, ("deploy",), "deployment"
)
POD = ResourceType(GVR("", "v1", "pods"), "Pod", True, WATCH, ("po",), "pod")
EVENT = ResourceType(GVR("", "v1", "events"), "Event", True, WATCH, ("ev",), "event")
CUSTOM = ResourceType(
    GVR("mycompany.com", "v1", "mycustomresources"), "MyCustomResource", True, WATCH, (), "mycustomresource"
)
# A second version of the CRD, served but not preferred.
CUSTOM_BETA = ResourceType(
    GVR("mycompany.com", "v1beta1", "mycustomresources"),
    "MyCustomResource",
    True,
    WATCH,
    (),
    "mycustomresource",
)
ALL = [POD, EVENT, DEPLOYMENT, CUSTOM, CUSTOM_BETA]
PREFERRED = [POD, EVENT, DEPLOYMENT, CUSTOM]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("apps/v1/Deployment", DEPLOYMENT),
        ("apps/v1/deployments", DEPLOYMENT),
        ("v1/Pod", POD),
        ("v1/pods", POD),
        ("pods", POD),
        ("pod", POD),
        ("Pod", POD),
        ("po", POD),
        ("deployments", DEPLOYMENT),
        ("deployment", DEPLOYMENT),
        ("deploy", DEPLOYMENT),
        ("Deployment.apps", DEPLOYMENT),
        ("deployments.apps", DEPLOYMENT),
        ("deployments.v1.apps", DEPLOYMENT),
        ("  Event  ", EVENT),
        ("mycompany.com/v1/MyCustomResource", CUSTOM),
        ("mycompany.com/v1beta1/MyCustomResource", CUSTOM_BETA),
        ("mycustomresources", CUSTOM),
        ("mycustomresources.mycompany.com", CUSTOM),
        ("MyCustomResource", CUSTOM),
    ],
)
def test_resolve_name(typed: str, expected: ResourceType) -> None:
    assert resolve_name(typed, ALL, PREFERRED) == expected


def test_unknown_name_lists_closest_matches() -> None:
    with pytest.raises(UnknownResourceError) as info:
        resolve_name("deploymnt", ALL, PREFERRED)
    msg = str(info.value)
    assert msg.startswith("unknown resource 'deploymnt'; closest matches: ")
    assert "deployments (apps/v1/Deployment)" in msg
    assert "Pod" not in msg


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "apps/v2/Deployment", "v1/Deployment", "a/b/c/d", "nothingalike", "pods.apps"],
)
def test_unresolvable_names(typed: str) -> None:
    with pytest.raises(UnknownResourceError):
        resolve_name(typed, ALL, PREFERRED)


def test_core_group_wins_unqualified_names() -> None:
    other_events = ResourceType(GVR("events.k8s.io", "v1", "events"), "Event", True, WATCH, (), "event")
    preferred = [other_events, *PREFERRED]
    assert resolve_name("events", [other_events, *ALL], preferred) == EVENT
    assert resolve_name("events.events.k8s.io", [other_events, *ALL], preferred) == other_events


AGGREGATED = {
    "kind": "APIGroupDiscoveryList",
    "items": [
        {
            "metadata": {"name": "apps"},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "deployments",
                            "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                            "scope": "Namespaced",
                            "singularResource": "deployment",
                            "shortNames": ["deploy"],
                            "categories": ["all"],
                            "verbs": ["get", "list", "watch", "create"],
                            "subresources": [{"subresource": "scale"}],
                        }
                    ],
                }
            ],
        },
        {
            "metadata": {},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "nodes",
                            "responseKind": {"kind": "Node"},
                            "scope": "Cluster",
                            "verbs": ["get", "list"],
                        }
                    ],
                }
            ],
        },
    ],
}


def test_from_aggregated() -> None:
    deploy, node = _from_aggregated(AGGREGATED)
    assert deploy.gvr == GVR("apps", "v1", "deployments")
    assert deploy.kind == "Deployment"
    assert deploy.namespaced
    assert deploy.short_names == ("deploy",)
    assert deploy.singular == "deployment"
    assert deploy.categories == ("all",)
    assert deploy.watchable
    assert deploy.type_name == "apps/v1/Deployment"
    # Core group (no metadata.name), cluster-scoped, singular derived from the kind.
    assert node.gvr == GVR("", "v1", "nodes")
    assert not node.namespaced
    assert node.singular == "node"
    assert not node.watchable
    assert node.path("default") == "/api/v1/nodes"


def test_from_resource_list_skips_subresources() -> None:
    doc = {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "pods",
                "kind": "Pod",
                "namespaced": True,
                "verbs": ["list", "watch"],
                "shortNames": ["po"],
            },
            {"name": "pods/log", "kind": "Pod", "namespaced": True, "verbs": ["get"]},
            {"name": "pods/status", "kind": "Pod", "namespaced": True, "verbs": ["get", "patch"]},
            {"name": "namespaces", "singularName": "namespace", "kind": "Namespace", "namespaced": False},
        ],
    }
    types = _from_resource_list("", "v1", doc)
    assert [t.gvr.resource for t in types] == ["pods", "namespaces"]
    pods, namespaces = types
    assert pods.short_names == ("po",)
    assert pods.singular == "pod"
    assert pods.watchable
    assert pods.path("default") == "/api/v1/namespaces/default/pods"
    assert not namespaces.namespaced
    assert namespaces.verbs == frozenset()
