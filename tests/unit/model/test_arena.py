"""faro.model.buffer.arena: events packed into arrays come back exactly as they went in."""

from __future__ import annotations

import random

from faro.model.buffer.arena import Arena
from faro.model.buffer.stored import Stored


def _events(n: int, rng: random.Random) -> list[Stored]:
    shared = [(b'{"head":' + bytes([65 + k]), b',"mid":' + bytes([97 + k])) for k in range(3)]
    out: list[Stored] = []
    for i in range(n):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))  # empty ones too
        ts = 1_795_700_000 + rng.random() * 1000
        out.append((ts, i + 1, body) if rng.random() < 0.3 else (ts, i + 1, rng.choice(shared), body))
    return out


def test_events_come_back_as_they_went_in() -> None:
    rng = random.Random(3)
    events = _events(2_000, rng)
    arena = Arena()
    for ev in events:
        arena.append(ev)
    assert len(arena) == len(events)
    assert list(arena) == events
    assert [arena.first_after(e[1] - 1) for e in events] == list(range(len(events)))  # seq i is at i
    for _ in range(200):
        i, j = sorted(rng.randrange(len(events) + 1) for _ in range(2))
        assert arena.slice(i, j) == events[i:j]
    assert arena.slice(5, 5) == [] and arena.slice(len(events), len(events)) == []


def test_shared_json_is_kept_once_and_the_arena_can_grow_after_being_read() -> None:
    arena = Arena()
    shared = (b"h", b"m")
    arena.append((1.0, 1, shared, b"one"))
    first = arena.slice(0, 1)[0]
    arena.append((2.0, 2, (b"h", b"m"), b"two"))  # equal, not the same object: stored once
    arena.append((3.0, 3, b'{"whole":1}'))
    assert first == (1.0, 1, shared, b"one")
    out = list(arena)
    assert out[0][2] is out[1][2]
    assert out[2] == (3.0, 3, b'{"whole":1}')


def test_taken_events_stay_as_taken_while_the_arena_grows() -> None:
    rng = random.Random(5)
    events = _events(1_000, rng)
    arena = Arena()
    for ev in events[:600]:
        arena.append(ev)
    taken = arena.take(100, 600)
    reading = iter(taken)
    first = next(reading)  # a writer thread is part-way through the taken events...
    for ev in events[600:]:  # ...while the arena's bytes and arrays grow (and move)
        arena.append(ev)
    assert [first, *reading] == events[100:600]
    assert len(taken) == 500 and list(taken) == events[100:600]
    assert list(taken) == events[100:600]  # it can be read again
    assert list(arena.take(600, 600)) == [] and len(arena.take(1_000, 1_000)) == 0


def test_first_after_finds_where_events_numbered_after_a_seq_start() -> None:
    events = _events(300, random.Random(9))
    arena = Arena()
    for ev in events:
        arena.append(ev)
    seqs = [e[1] for e in events]
    for s in (-1, seqs[0], seqs[10], seqs[10] + 1, seqs[-1], seqs[-1] + 5):
        assert arena.first_after(s) == sum(1 for x in seqs if x <= s)
