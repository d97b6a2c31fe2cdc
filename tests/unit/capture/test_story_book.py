"""faro.capture.fold.story_book.StoryBook: when a deleted primary's story closes (its cascade)."""

from __future__ import annotations

from typing import Any

from faro.capture.fold.story_book import StoryBook
from faro.model.events import WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.model.story import Story

W = frozenset({"list", "watch"})
JOB = ResourceType(GVR("batch", "v1", "jobs"), "Job", True, W)
POD = ResourceType(GVR("", "v1", "pods"), "Pod", True, W)
DONE = {"conditions": [{"type": "Complete", "status": "True"}]}


def _ev(
    kind: str, uid: str, rv: int, at: float, typ: WatchType = WatchType.MODIFIED, **extra: Any
) -> WatchEvent:
    obj = {
        "kind": kind,
        "metadata": {"name": uid, "namespace": "ns", "uid": uid, "resourceVersion": str(rv)},
        **extra,
    }
    return WatchEvent(typ, JOB if kind == "Job" else POD, obj, at)


def _book(closed: list[Story]) -> StoryBook:
    return StoryBook(
        cluster="c", on_event=lambda s, e: None, on_close=closed.append, settle=3.0, correlation_timeout=300.0
    )


def _record(book: StoryBook, ev: WatchEvent) -> None:
    if ev.resource.kind == "Job":
        book.primary(ev, ev.obj)
    else:
        book.child("job", ev, ev.obj)


def test_a_deleted_primary_waits_for_its_members_even_if_it_had_finished() -> None:
    """A Job that completed and was deleted within the settle time used to close as
    `terminal` (or `deleted`) while its pod was still there."""
    closed: list[Story] = []
    book = _book(closed)
    _record(book, _ev("Job", "job", 1, 100.0, WatchType.ADDED))
    _record(book, _ev("Pod", "pod", 2, 100.5, WatchType.ADDED))
    _record(book, _ev("Job", "job", 3, 101.0, status=DONE))
    _record(book, _ev("Job", "job", 4, 101.5, WatchType.DELETED, status=DONE))
    assert book.tick(110.0) == [] and not closed  # the pod has not gone yet
    _record(book, _ev("Pod", "pod", 5, 112.0, WatchType.DELETED))
    assert book.tick(113.0) == []  # quiet for less than the settle time
    (story,) = book.tick(115.5)
    assert story.completion == "deleted"
    assert [e.action for e in story.buffer.all()] == ["add", "add", "update", "delete", "delete"]


def test_members_that_stay_hold_a_deleted_story_for_the_correlation_timeout_at_most() -> None:
    closed: list[Story] = []
    book = _book(closed)
    _record(book, _ev("Job", "job", 1, 100.0, WatchType.ADDED))
    _record(book, _ev("Pod", "pod", 2, 100.5, WatchType.ADDED))  # orphaned: never deleted
    _record(book, _ev("Job", "job", 3, 101.0, WatchType.DELETED))
    assert book.tick(300.0) == []
    (story,) = book.tick(401.0)
    assert story.completion == "deleted"


def test_the_same_change_from_a_second_watch_is_recorded_once() -> None:
    book = _book([])
    first, again = _ev("Job", "job", 1, 100.0, WatchType.ADDED), _ev("Job", "job", 1, 100.1, WatchType.ADDED)
    _record(book, first)
    assert book.repeated(again) and not book.repeated(_ev("Job", "job", 2, 100.2))


def test_past_max_open_the_story_opened_longest_ago_is_evicted_whole_and_its_next_change_reopens() -> None:
    closed: list[Story] = []
    book = _book(closed)
    book.max_open = 3
    for i in range(5):
        _record(book, _ev("Job", f"j{i}", 1, float(i), WatchType.ADDED))
    assert sorted(book.open) == ["j2", "j3", "j4"]
    assert [(s.correlation_id, s.completion, s.event_count) for s in closed] == [
        ("j0", "evicted", 1),
        ("j1", "evicted", 1),
    ]
    assert book.evicted == 2
    _record(book, _ev("Job", "j0", 2, 10.0))  # the evicted primary changes again: episode 2
    assert book.open["j0"].episode == 2 and len(book.open) == 3


def test_a_deleted_primary_leaves_no_bookkeeping_behind() -> None:
    closed: list[Story] = []
    book = _book(closed)
    for i in range(50):
        _record(book, _ev("Job", f"j{i}", 1, 0.0, WatchType.ADDED))
        _record(book, _ev("Job", f"j{i}", 2, 1.0, WatchType.DELETED))
    book.tick(10.0)
    assert len(closed) == 50 and not book.open
    left = {
        name: len(getattr(book, name))
        for name in ("episodes", "primaries", "_last", "_seen", "_alive", "_orphans")
    }
    assert left == dict.fromkeys(left, 0)


def test_a_resumed_story_does_not_record_the_journals_last_state_again() -> None:
    """A restarted Faro lists every object again (as ADDED): the one unchanged since the
    journal is no change; one that changed while Faro was down is recorded."""
    closed: list[Story] = []
    first = _book(closed)
    _record(first, _ev("Job", "job", 1, 0.0, WatchType.ADDED))
    _record(first, _ev("Pod", "pod", 5, 1.0, WatchType.ADDED))
    _record(first, _ev("Pod", "other", 7, 1.0, WatchType.ADDED))
    journalled = Story.from_dict(first.open["job"].to_dict("test"))
    book = _book(closed)
    book.resume(journalled, 10.0)
    before = journalled.event_count
    _record(book, _ev("Job", "job", 1, 11.0, WatchType.ADDED))  # unchanged
    _record(book, _ev("Pod", "pod", 5, 11.0, WatchType.ADDED))  # unchanged
    _record(book, _ev("Pod", "other", 8, 11.0, WatchType.ADDED))  # changed while Faro was down
    assert journalled.event_count == before + 1
    last = journalled.buffer.all()[-1]
    assert (last.action, last.timestamp) == ("update", 11.0)  # an update of the journal's state
    _record(book, _ev("Pod", "pod", 5, 12.0, WatchType.ADDED))  # later, the same rv again: recorded
    assert journalled.event_count == before + 2
