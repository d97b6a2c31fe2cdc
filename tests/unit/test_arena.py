"""faro.model.arena: events packed into arrays come back exactly as they went in."""

from __future__ import annotations

import random

from faro.model.arena import Arena
from faro.model.stored import Stored


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
    assert [arena.seq(i) for i in range(len(arena))] == [e[1] for e in events]
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
