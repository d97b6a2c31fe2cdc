"""Read only the head of watch lines and list items; keep the rest as bytes.

Why: most objects a capture sees belong to no story (docs/design.md, "Hot path"). Deciding that
needs a few metadata fields — uid, name, namespace, resourceVersion, ownerReferences — and
msgspec decodes just those from a pod several times faster than a full decode (the stage
table in docs/benchmarks.md), skipping the rest without allocating. The object itself stays
one `bytes` value until someone needs it: invisible to the cyclic GC while it waits in a
queue, and freed whole when it turns out nobody does.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson


class OwnerRef(msgspec.Struct):
    """What the owner graph needs of a reference (capture/fold/owner_graph.py); the rest is skipped."""

    uid: str = ""
    kind: str = ""


class ObjectMeta(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resourceVersion: str = ""
    creationTimestamp: str | None = None
    ownerReferences: list[OwnerRef] = msgspec.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The fields Faro reads before deciding to decode the whole object."""
        d: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "resourceVersion": self.resourceVersion,
        }
        if self.creationTimestamp is not None:
            d["creationTimestamp"] = self.creationTimestamp
        if self.ownerReferences:
            d["ownerReferences"] = [{"uid": r.uid, "kind": r.kind} for r in self.ownerReferences]
        return d


class _Ref(msgspec.Struct):
    uid: str = ""
    kind: str = ""


class ObjectHead(msgspec.Struct):
    kind: str = ""
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    # Only Events have these: what they are about decides their story (core/v1, events.k8s.io)
    involvedObject: _Ref | None = None
    regarding: _Ref | None = None

    @property
    def about(self) -> str:
        ref = self.involvedObject or self.regarding
        return ref.uid if ref is not None else ""

    @property
    def about_kind(self) -> str:
        ref = self.involvedObject or self.regarding
        return ref.kind if ref is not None else ""


class _Line(msgspec.Struct):
    type: str = ""
    object: ObjectHead = msgspec.field(default_factory=ObjectHead)


class _ListMeta(msgspec.Struct, rename={"continue_": "continue"}):
    resourceVersion: str = ""
    continue_: str = ""


class _Page(msgspec.Struct):
    metadata: _ListMeta = msgspec.field(default_factory=_ListMeta)
    items: list[msgspec.Raw] | None = None


_line = msgspec.json.Decoder(_Line)
_object = msgspec.json.Decoder(ObjectHead)
_page = msgspec.json.Decoder(_Page)


_MANAGED = b'"managedFields":'
_CLOSED = b"[]}}}"  # ends the managedFields value, metadata, the object and the line


def line_head(line: bytes, go_order: bool = False) -> tuple[str, ObjectHead]:
    """A watch line's type and its object's head. Raises ValueError if it is not JSON.

    go_order: the line comes from kube-apiserver for a built-in type (see _prefix_head)."""
    if go_order and (head := _prefix_head(line)) is not None:
        return head.type, head.object
    try:
        head = _line.decode(line)
    except msgspec.DecodeError:
        d = _loose(line, "watch event")
        return str(d.get("type") or ""), _head_of(d.get("object"))
    return head.type, head.object


def _prefix_head(line: bytes) -> _Line | None:
    """The head from the bytes before metadata.managedFields, or None to read the whole line.

    Why: kube-apiserver writes a built-in object's fields in their Go declaration order, so a
    watch line holds type, kind, then metadata with managedFields last, and everything the
    head needs comes before it: that prefix is about a sixth of a pod's line, and closing it
    there reads in half the time. Only for built-in types (the caller knows; custom
    resources are written with sorted keys, their name and uid after managedFields), and
    only when the prefix cannot have lost anything: it must be one valid document (a
    "managedFields" key nested anywhere but directly in metadata leaves it unbalanced), with
    type, kind, name, uid and resourceVersion read, and not an Event (what it is about
    follows its metadata).
    """
    i = line.find(_MANAGED)
    if i < 0:
        return None
    try:
        head = _line.decode(line[: i + len(_MANAGED)] + _CLOSED)
    except msgspec.DecodeError:
        return None
    obj, m = head.object, head.object.metadata
    if not (head.type and obj.kind and m.name and m.uid and m.resourceVersion) or obj.kind == "Event":
        return None
    return head


def object_head(raw: msgspec.Raw | bytes) -> ObjectHead:
    try:
        return _object.decode(raw)
    except msgspec.DecodeError:
        return _head_of(_loose(raw, "object in a list"))


def _loose(data: msgspec.Raw | bytes, what: str) -> dict[str, Any]:
    """Valid JSON the typed head rejects (a null or odd type where Kubernetes never puts one)
    must not stop a watch: it is read the slow way instead."""
    try:
        d = orjson.loads(memoryview(data))
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"malformed {what}: {exc}") from None
    if not isinstance(d, dict):
        raise ValueError(f"malformed {what}: not a JSON object")
    return d


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _head_of(obj: Any) -> ObjectHead:
    obj = obj if isinstance(obj, dict) else {}
    m = obj.get("metadata")
    m = m if isinstance(m, dict) else {}
    refs = [r for r in m.get("ownerReferences") or () if isinstance(r, dict)]
    about = obj.get("involvedObject") or obj.get("regarding")
    created = m.get("creationTimestamp")
    return ObjectHead(
        metadata=ObjectMeta(
            name=_s(m.get("name")),
            namespace=_s(m.get("namespace")),
            uid=_s(m.get("uid")),
            resourceVersion=_s(m.get("resourceVersion")),
            creationTimestamp=created if isinstance(created, str) else None,
            ownerReferences=[OwnerRef(_s(r.get("uid")), _s(r.get("kind"))) for r in refs],
        ),
        involvedObject=_Ref(_s(about.get("uid")), _s(about.get("kind"))) if isinstance(about, dict) else None,
    )


def list_page(body: bytes) -> tuple[list[msgspec.Raw], str, str]:
    """A LIST response's items (undecoded), continue token and resourceVersion."""
    try:
        page = _page.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed list response: {exc}") from None
    return page.items or [], page.metadata.continue_, page.metadata.resourceVersion
