"""faro.capture.fold.owner_graph.Correlator: the owner graph, bound late, with holding and expiry."""

from __future__ import annotations

from typing import Any

from faro.capture.fold.owner_graph import Correlator
from faro.model.events import WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType

W = frozenset({"list", "watch"})
TYPES = {
    "Deployment": ResourceType(GVR("apps", "v1", "deployments"), "Deployment", True, W),
    "ReplicaSet": ResourceType(GVR("apps", "v1", "replicasets"), "ReplicaSet", True, W),
    "Pod": ResourceType(GVR("", "v1", "pods"), "Pod", True, W),
    "Event": ResourceType(GVR("", "v1", "events"), "Event", True, W),
}


def _ev(kind: str, uid: str, owner: tuple[str, str] | None = None, at: float = 100.0) -> WatchEvent:
    meta: dict[str, Any] = {"name": f"{kind.lower()}-{uid}", "namespace": "default", "uid": uid}
    if owner is not None:
        okind, ouid = owner
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": okind, "name": ouid, "uid": ouid, "controller": True}
        ]
    return WatchEvent(WatchType.ADDED, TYPES[kind], {"kind": kind, "metadata": meta}, at)


def _k8s_event(target_uid: str, at: float = 100.0, kind: str | None = None) -> WatchEvent:
    involved = {"uid": target_uid} if kind is None else {"kind": kind, "uid": target_uid}
    obj = {"kind": "Event", "metadata": {"uid": f"ev-{target_uid}"}, "involvedObject": involved}
    return WatchEvent(WatchType.ADDED, TYPES["Event"], obj, at)


def test_late_binding_binds_known_descendants_transitively() -> None:
    c = Correlator()
    assert c.observe(_ev("Deployment", "dep")) == (None, [])
    assert c.observe(_ev("ReplicaSet", "rs", ("Deployment", "dep"))) == (None, [])
    assert c.observe(_ev("Pod", "pod", ("ReplicaSet", "rs"))) == (None, [])
    assert c.held == {}  # owners were all seen: nothing to wait for
    assert c.bind_primary("dep") == []
    assert c.bound == {"dep": "dep", "rs": "dep", "pod": "dep"}
    # The next change of the pod is placed in the deployment's story at once.
    assert c.observe(_ev("Pod", "pod", ("ReplicaSet", "rs"), at=101)) == ("dep", [])


def test_child_of_bound_owner_is_bound_on_sight() -> None:
    c = Correlator()
    c.bind_primary("dep")
    assert c.observe(_ev("ReplicaSet", "rs", ("Deployment", "dep")))[0] == "dep"
    assert c.observe(_ev("Pod", "pod", ("ReplicaSet", "rs")))[0] == "dep"


def test_held_until_owner_appears() -> None:
    c = Correlator()
    c.bind_primary("dep")
    pod = _ev("Pod", "pod", ("ReplicaSet", "rs"))
    assert c.observe(pod) == (None, [])
    assert c.held == {"rs": [pod]}
    cid, released = c.observe(_ev("ReplicaSet", "rs", ("Deployment", "dep")))
    assert cid == "dep"
    assert released == [pod]
    assert c.held == {}
    assert c.bound["pod"] == "dep"
    assert c.expired == 0


def test_held_event_released_when_unrelated_owner_appears() -> None:
    c = Correlator()
    pod = _ev("Pod", "pod", ("ReplicaSet", "rs"))
    c.observe(pod)
    assert c.observe(_ev("ReplicaSet", "rs")) == (None, [pod])
    assert c.held == {}


def test_expiry_after_hold_for() -> None:
    c = Correlator(hold_for=10.0)
    c.observe(_ev("Pod", "p1", ("ReplicaSet", "rs1"), at=100.0))
    c.observe(_ev("Pod", "p2", ("ReplicaSet", "rs2"), at=105.0))
    c.expire(109.0)
    assert set(c.held) == {"rs1", "rs2"}
    assert c.expired == 0
    c.expire(110.5)
    assert set(c.held) == {"rs2"}
    assert c.expired == 1
    c.expire(200.0)
    assert c.held == {}
    assert c.expired == 2
    # An owner that shows up after the window releases nothing.
    assert c.observe(_ev("ReplicaSet", "rs1")) == (None, [])


def test_unrelated_owner_is_not_held() -> None:
    c = Correlator()
    c.observe(_ev("ReplicaSet", "rs"))  # seen, never bound
    assert c.observe(_ev("Pod", "pod", ("ReplicaSet", "rs"))) == (None, [])
    assert c.held == {}
    assert "pod" not in c.bound


def test_owner_of_unwatched_kind_is_not_awaited() -> None:
    c = Correlator(watched_kinds={"ReplicaSet", "Deployment"})
    assert c.observe(_ev("Pod", "p1", ("Node", "node-1"))) == (None, [])
    assert c.held == {}
    pod = _ev("Pod", "p2", ("ReplicaSet", "rs"))
    c.observe(pod)
    assert c.held == {"rs": [pod]}


def test_event_target_holds_until_target_appears() -> None:
    c = Correlator()
    c.bind_primary("dep")
    ev = _k8s_event("pod")
    assert c.event_target("pod", ev) is None
    assert c.held == {"pod": [ev]}
    c.observe(_ev("ReplicaSet", "rs", ("Deployment", "dep")))
    cid, released = c.observe(_ev("Pod", "pod", ("ReplicaSet", "rs")))
    assert (cid, released) == ("dep", [ev])
    assert c.event_target("pod", ev) == "dep"


def test_event_target_known_but_unbound_is_dropped() -> None:
    c = Correlator()
    c.observe(_ev("Pod", "pod"))
    assert c.event_target("pod", _k8s_event("pod")) is None
    assert c.event_target("", _k8s_event("")) is None
    assert c.held == {}


def test_deleted_child_reports_its_story_and_is_forgotten() -> None:
    c = Correlator()
    c.bind_primary("dep")
    c.observe(_ev("ReplicaSet", "rs", ("Deployment", "dep")))
    gone = _ev("ReplicaSet", "rs", ("Deployment", "dep"))
    gone.type = WatchType.DELETED
    assert c.observe(gone) == ("dep", [])
    assert "rs" not in c.bound
    assert "rs" not in c.parents
    assert "dep" not in c.children


def test_owner_chain_arriving_bottom_up_places_every_event() -> None:
    """Pod, then ReplicaSet, then Deployment (three watch streams, any order).

    Replays released events the way CaptureEngine._handle does: every event must end up in
    the Deployment's story, including the Pod's ADDED that arrived first."""
    c = Correlator()
    placed: dict[str, str | None] = {}

    def handle(ev: WatchEvent, primary: bool = False) -> None:
        released = c.bind_primary(ev.uid) if primary else []
        cid, more = c.observe(ev)
        placed[ev.uid] = cid
        for held in released + more:
            handle(held)

    handle(_ev("Pod", "pod", ("ReplicaSet", "rs")))
    handle(_ev("ReplicaSet", "rs", ("Deployment", "dep")))
    handle(_ev("Deployment", "dep"), primary=True)
    assert c.bound == {"dep": "dep", "rs": "dep", "pod": "dep"}
    assert placed == {"pod": "dep", "rs": "dep", "dep": "dep"}


def test_a_primary_owned_by_another_storys_member_is_in_both_stories() -> None:
    """Rules for Deployments and for Pods: a pod has its own story and is in its Deployment's."""
    c = Correlator()
    c.bind_primary("dep")
    c.observe(_ev("Deployment", "dep"))
    assert c.place(_ev("ReplicaSet", "rs", ("Deployment", "dep"))) == (["dep"], [])
    pod = _ev("Pod", "pod", ("ReplicaSet", "rs"))
    c.bind_primary("pod")  # the router binds a primary before placing it as a child
    assert c.place(pod) == (["pod", "dep"], [])
    assert c.stories(c.event_target("pod", _k8s_event("pod"))) == ["pod", "dep"]
    gone = _ev("Pod", "pod", ("ReplicaSet", "rs"))
    gone.type = WatchType.DELETED
    assert c.place(gone) == (["pod", "dep"], [])  # climbed before the graph forgot the pod
    assert c.stories(c.bound.get("pod")) == []


def test_stories_of_nothing_and_of_a_cycle() -> None:
    c = Correlator()
    assert c.stories(None) == []
    c.bind_primary("a")
    c.bind_primary("b")
    c.observe(_ev("ReplicaSet", "a", ("ReplicaSet", "b")))
    c.observe(_ev("ReplicaSet", "b", ("ReplicaSet", "a")))  # owners in a loop: climbing stops
    assert c.stories("a") == ["a", "b"]


def test_an_event_that_arrives_after_its_object_was_deleted_still_finds_the_story() -> None:
    # Events and pods come on two watches with no order between them: the Event about a pod
    # can be handled after the pod's deletion (the pods watch was ahead).
    c = Correlator()
    c.bind_primary("dep")
    c.observe(_ev("Deployment", "dep"))
    pod = _ev("Pod", "p1", ("Deployment", "dep"))
    assert c.place(pod) == (["dep"], [])
    gone = WatchEvent(WatchType.DELETED, TYPES["Pod"], pod.obj, 101.0)
    assert c.place(gone) == (["dep"], [])
    assert c.stories(c.event_target("p1", _k8s_event("p1", at=101.5))) == ["dep"]
    # and one about a deleted object of no story is dropped, not held for it to appear
    c.observe(_ev("Pod", "p2"))
    c.observe(WatchEvent(WatchType.DELETED, TYPES["Pod"], _ev("Pod", "p2").obj, 102.0))
    assert c.event_target("p2", _k8s_event("p2", at=102.5)) is None
    assert c.held == {}


def test_a_child_that_arrives_after_its_owner_was_deleted_joins_the_owners_story() -> None:
    # a Job's pod created just before the Job was deleted, on a pods watch that lags behind
    c = Correlator()
    c.bind_primary("job")
    c.observe(_ev("Deployment", "job"))
    gone = _ev("Deployment", "job")
    gone.type = WatchType.DELETED
    c.observe(gone)
    assert c.place(_ev("Pod", "late", ("Deployment", "job"))) == (["job"], [])
    # and a child of a deleted owner of no story is decided at once, not held for it
    c.observe(_ev("ReplicaSet", "rs"))
    gone = _ev("ReplicaSet", "rs")
    gone.type = WatchType.DELETED
    c.observe(gone)
    assert c.place(_ev("Pod", "orphan", ("ReplicaSet", "rs"))) == ([], [])
    assert c.held == {}


def test_an_event_about_a_kind_no_watch_brings_is_not_held() -> None:
    c = Correlator(watched_kinds={"Deployment", "ReplicaSet", "Pod", "Event"})
    assert c.event_target("node-1", _k8s_event("node-1", kind="Node")) is None
    assert c.held == {}  # a Node never arrives: holding it would only expire it later
    assert c.event_target("pod-1", _k8s_event("pod-1", kind="Pod")) is None
    assert list(c.held) == ["pod-1"]  # a Pod may still come: held for it


def test_an_event_about_an_object_still_waiting_for_its_owner_is_held_with_it() -> None:
    """The object is known (in the graph) but undecided: its owner has not arrived. Its Events
    were dropped as if it were of no story (found by the fold's golden test: 13 Events of a
    rollout whose pods came before their ReplicaSet)."""
    c = Correlator()
    c.bind_primary("dep")
    pod = _ev("Pod", "pod", ("ReplicaSet", "rs"))
    assert c.observe(pod) == (None, [])  # waits for rs
    about_pod = _k8s_event("pod")
    assert c.event_target("pod", about_pod) is None
    assert c.held == {"rs": [pod], "pod": [about_pod]}  # held, not dropped
    released = c.observe(_ev("ReplicaSet", "rs", ("Deployment", "dep")))[1]
    assert released == [pod, about_pod]  # both reach the story
    assert c.event_target("pod", about_pod) == "dep"


def test_an_event_about_an_object_that_turns_out_to_be_of_no_story_is_released_and_dropped() -> None:
    c = Correlator()
    pod = _ev("Pod", "pod", ("ReplicaSet", "rs"))
    c.observe(pod)
    about_pod = _k8s_event("pod")
    c.event_target("pod", about_pod)
    assert c.observe(_ev("ReplicaSet", "rs")) == (None, [pod])  # rs is of no story
    assert c.observe(pod) == (None, [about_pod])  # the pod is decided: its Event can be judged
    assert c.event_target("pod", about_pod) is None and c.held == {}
