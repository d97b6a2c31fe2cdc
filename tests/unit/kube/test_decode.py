"""Metadata-first decoding: watch lines and list items are read by their head; the object is
decoded only when a story needs it (kube/decode.py, model WatchEvent, capture Router)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from faro.capture.filters import PrimaryRule
from faro.capture.fold.owner_graph import Correlator
from faro.capture.fold.roles import CHILD, EVENTS, PRIMARY
from faro.capture.fold.router import Router
from faro.capture.fold.story_book import StoryBook
from faro.config import ResourceRule
from faro.kube.decode import line_head, list_page, object_head
from faro.model.events import StoryEvent, WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.model.story import Story

W = frozenset({"list", "watch"})
PODS = ResourceType(GVR("", "v1", "pods"), "Pod", True, W)
DEPLOYS = ResourceType(GVR("apps", "v1", "deployments"), "Deployment", True, W)
EVENTS_T = ResourceType(GVR("", "v1", "events"), "Event", True, W)


def pod(name: str, owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": f"uid-{name}",
        "resourceVersion": "7",
        "creationTimestamp": "2026-11-26T10:00:00Z",
        "labels": {"app": "x"},
        "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}],
    }
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": owner, "uid": owner}
        ]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
        "status": {"phase": "Running"},
    }


def line(typ: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": typ, "object": obj})


def lazy(typ: WatchType, obj: dict[str, Any], resource: ResourceType = PODS) -> WatchEvent:
    raw = line(typ.value, obj)
    _, head = line_head(raw)
    return WatchEvent(
        typ, resource, None, 1.0, raw=raw, meta=head.metadata.as_dict(), wrapped=True, about=head.about
    )


def test_line_head_reads_type_metadata_and_owners_only() -> None:
    typ, head = line_head(line("MODIFIED", pod("p", owner="dep-1")))
    assert typ == "MODIFIED"
    m = head.metadata.as_dict()
    assert m["name"] == "p" and m["namespace"] == "ns" and m["uid"] == "uid-p"
    assert m["resourceVersion"] == "7" and m["creationTimestamp"] == "2026-11-26T10:00:00Z"
    assert [r["uid"] for r in m["ownerReferences"]] == ["dep-1"]
    assert "labels" not in m and "managedFields" not in m  # never decoded
    assert head.about == ""


def test_event_heads_say_what_they_are_about_in_both_apis() -> None:
    core = {"metadata": {"uid": "e1"}, "involvedObject": {"kind": "Pod", "uid": "pod-1"}, "reason": "X"}
    new = {"metadata": {"uid": "e2"}, "regarding": {"kind": "Pod", "uid": "pod-2"}, "reason": "Y"}
    assert line_head(line("ADDED", core))[1].about == "pod-1"
    assert line_head(line("ADDED", new))[1].about == "pod-2"


def test_bookmark_and_malformed_lines() -> None:
    typ, head = line_head(b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"99"}}}')
    assert (typ, head.metadata.resourceVersion) == ("BOOKMARK", "99")
    with pytest.raises(ValueError, match="malformed watch event"):
        line_head(b'{"type":"ADDED","object":')
    with pytest.raises(ValueError, match="malformed watch event: not a JSON object"):
        line_head(b"[1]")


def test_odd_but_valid_json_is_read_the_slow_way_not_refused() -> None:
    # a null list and a number where strings belong: never from an apiserver, but one such
    # object must not stop a watch (the reflector would reconnect forever)
    odd = b'{"type":"ADDED","object":{"metadata":{"uid":"u1","name":5,"ownerReferences":null},'
    odd += b'"involvedObject":{"uid":"pod-9"}}}'
    typ, head = line_head(odd)
    assert (typ, head.metadata.uid, head.metadata.name, head.about) == ("ADDED", "u1", "", "pod-9")
    assert head.metadata.as_dict() == {"name": "", "namespace": "", "uid": "u1", "resourceVersion": ""}
    refs = (
        b'{"metadata":{"uid":"u2","ownerReferences":[{"uid":"o1","kind":"ReplicaSet","controller":"yes"}]}}'
    )
    assert [r.uid for r in object_head(refs).metadata.ownerReferences] == ["o1"]
    with pytest.raises(ValueError, match="malformed object in a list"):
        object_head(b'{"metadata":')


def test_list_page_keeps_items_raw() -> None:
    body = orjson.dumps(
        {
            "kind": "PodList",
            "metadata": {"resourceVersion": "42", "continue": "tok"},
            "items": [pod("a"), pod("b")],
        }
    )
    items, cont, rv = list_page(body)
    assert (cont, rv) == ("tok", "42")
    assert [object_head(i).metadata.name for i in items] == ["a", "b"]
    assert orjson.loads(bytes(items[1])) == pod("b")
    assert list_page(b'{"metadata":{"resourceVersion":"1"},"items":null}') == ([], "", "1")


def test_watch_event_decodes_on_first_read_of_obj() -> None:
    ev = lazy(WatchType.ADDED, pod("p"))
    assert ev.uid == "uid-p" and not ev.decoded
    assert ev.obj == pod("p") and ev.decoded
    assert ev.meta["labels"] == {"app": "x"}  # now the object's own metadata


def test_list_items_get_kind_and_api_version_when_decoded() -> None:
    bare = pod("p")
    del bare["kind"], bare["apiVersion"]
    ev = WatchEvent(WatchType.ADDED, PODS, None, 1.0, raw=orjson.dumps(bare), meta={"uid": "uid-p"})
    assert ev.obj["kind"] == "Pod" and ev.obj["apiVersion"] == "v1"


def test_watch_event_needs_an_object_or_bytes_and_metadata() -> None:
    with pytest.raises(ValueError, match="needs its object"):
        WatchEvent(WatchType.ADDED, PODS, None, 1.0, raw=b"{}")


def _router() -> tuple[Router, list[StoryEvent]]:
    seen: list[StoryEvent] = []

    def on_event(story: Story, ev: StoryEvent) -> None:
        seen.append(ev)

    book = StoryBook(cluster="t", on_event=on_event, on_close=lambda s: None)
    return Router(book, Correlator()), seen


def test_objects_and_events_of_no_story_are_never_decoded() -> None:
    router, seen = _router()
    router.correlator.watched_kinds.update({"Deployment", "Pod"})
    stranger = lazy(WatchType.ADDED, pod("lonely"))
    router.route(stranger, frozenset({CHILD}), ())
    about = lazy(
        WatchType.ADDED, {"metadata": {"uid": "e1"}, "involvedObject": {"uid": "uid-lonely"}}, EVENTS_T
    )
    router.route(about, frozenset({EVENTS}), ())
    assert not stranger.decoded and not about.decoded
    assert seen == []


def test_objects_of_a_story_are_decoded_and_recorded() -> None:
    router, seen = _router()
    router.correlator.watched_kinds.update({"Deployment", "Pod"})
    rule = PrimaryRule.compile(ResourceRule(gvr="apps/v1/Deployment"), DEPLOYS)
    dep = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "dep", "namespace": "ns", "uid": "dep-1"},
    }
    router.route(lazy(WatchType.ADDED, dep, DEPLOYS), frozenset({PRIMARY}), (rule,))
    child = lazy(WatchType.ADDED, pod("member", owner="dep-1"))
    router.route(child, frozenset({CHILD}), ())
    assert child.decoded
    member = [e for e in seen if e.data.get("metadata", {}).get("name") == "member"]
    assert member and member[0].correlation_id == "dep-1"
    assert "managedFields" not in member[0].data["metadata"]  # stripped as ever


def go_pod_line(typ: str = "MODIFIED", annotations: dict[str, str] | None = None) -> bytes:
    """A pod's watch line as kube-apiserver writes it: Go field order, managedFields last."""
    meta = {
        "name": "p",
        "generateName": "web-1-",
        "namespace": "ns",
        "uid": "uid-p",
        "resourceVersion": "8",
        "creationTimestamp": "2026-11-26T10:00:00Z",
        "labels": {"app": "web"},
        "annotations": annotations or {},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "rs-1"}],
        "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {"f:phase": {}}}}],
    }
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": {}, "status": {"phase": "Running"}}
    return line(typ, obj)


def test_go_ordered_lines_are_read_up_to_managed_fields_only() -> None:
    whole = go_pod_line()
    typ, head = line_head(whole, go_order=True)
    assert (typ, head) == line_head(whole)  # the same head as the whole line gives
    cut = whole.index(b'"managedFields":') + len(b'"managedFields":')
    broken = whole[:cut] + b"[{not json at all"  # never read: the head comes from the prefix
    typ, head = line_head(broken, go_order=True)
    assert typ == "MODIFIED" and head.kind == "Pod"
    assert head.metadata.as_dict() == {
        "name": "p",
        "namespace": "ns",
        "uid": "uid-p",
        "resourceVersion": "8",
        "creationTimestamp": "2026-11-26T10:00:00Z",
        "ownerReferences": [{"uid": "rs-1", "kind": "ReplicaSet"}],
    }
    with pytest.raises(ValueError, match="malformed watch event"):
        line_head(broken)


def test_a_managed_fields_key_elsewhere_does_not_cut_the_line_short() -> None:
    whole = go_pod_line(annotations={"managedFields": "x"})  # before the real one, one level deeper
    assert line_head(whole, go_order=True) == line_head(whole)
    assert [r.uid for r in line_head(whole, go_order=True)[1].metadata.ownerReferences] == ["rs-1"]


def test_sorted_keys_and_events_are_read_whole_even_in_go_order() -> None:
    # a custom resource (sorted keys): name, owners and uid follow managedFields
    cr = b'{"type":"ADDED","object":{"apiVersion":"x.io/v1","kind":"Thing","metadata":{'
    cr += b'"creationTimestamp":"2026-11-26T10:00:00Z","managedFields":[{"manager":"m"}],"name":"t",'
    cr += b'"namespace":"ns","ownerReferences":[{"kind":"Other","uid":"o-1"}],"resourceVersion":"3",'
    cr += b'"uid":"uid-t"},"spec":{}}}'
    _, head = line_head(cr, go_order=True)
    assert (head.metadata.name, head.metadata.uid, head.metadata.namespace) == ("t", "uid-t", "ns")
    assert [r.uid for r in head.metadata.ownerReferences] == ["o-1"]
    # an Event: what it is about follows its metadata
    ev = b'{"type":"ADDED","object":{"kind":"Event","apiVersion":"v1","metadata":{"name":"e",'
    ev += b'"namespace":"ns","uid":"e1","resourceVersion":"4","managedFields":[]},'
    ev += b'"involvedObject":{"kind":"Pod","uid":"pod-1"}}}'
    assert line_head(ev, go_order=True)[1].about == "pod-1"


def test_reflectors_read_prefixes_of_built_in_types_only() -> None:
    from faro.kube.reflector import Reflector

    thing = ResourceType(GVR("x.example.com", "v1", "things"), "Thing", True, W)
    gateway = ResourceType(GVR("gateway.networking.k8s.io", "v1", "gateways"), "Gateway", True, W)

    async def emit(ev: WatchEvent) -> None: ...

    kinds = (PODS, DEPLOYS, thing, gateway, EVENTS_T)
    orders = {t.kind: Reflector(None, t, None, emit)._go_order for t in kinds}  # type: ignore[arg-type]
    assert orders == {"Pod": True, "Deployment": True, "Thing": False, "Gateway": False, "Event": False}


def test_event_heads_say_the_kind_they_are_about() -> None:
    core = {"metadata": {"uid": "e1"}, "involvedObject": {"kind": "Node", "uid": "n-1"}}
    new = {"metadata": {"uid": "e2"}, "regarding": {"kind": "Pod", "uid": "pod-2"}}
    assert line_head(line("ADDED", core))[1].about_kind == "Node"
    assert line_head(line("ADDED", new))[1].about_kind == "Pod"
    odd = b'{"type":"ADDED","object":{"metadata":{"uid":"e3","name":5},'
    odd += b'"involvedObject":{"kind":"Job","uid":"j"}}}'
    assert line_head(odd)[1].about_kind == "Job"  # read the slow way, the same answer
    assert line_head(line("ADDED", pod("p")))[1].about_kind == ""
