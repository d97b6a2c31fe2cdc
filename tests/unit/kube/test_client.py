"""faro.kube.client.iter_lines: re-splitting a byte-chunk stream on b"\\n" only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pytest

from faro.kube.client import _query_value, iter_lines


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def _lines(parts: Iterable[bytes]) -> list[bytes]:
    return [line async for line in iter_lines(_chunks(parts))]


async def test_lines_split_across_chunks() -> None:
    got = await _lines([b'{"a"', b":1}\n{", b'"b":2', b"}\n"])
    assert got == [b'{"a":1}', b'{"b":2}']


async def test_many_lines_in_one_chunk() -> None:
    assert await _lines([b"one\ntwo\nthree\n"]) == [b"one", b"two", b"three"]


async def test_carriage_return_and_nel_do_not_split() -> None:
    nel = "\u0085".encode()
    assert nel == b"\xc2\x85"
    got = await _lines([b"a\rb", b"\r\n", b"x" + nel + b"y\n", b"c\xc2", b"\x85d\n"])
    assert got == [b"a\rb\r", b"x\xc2\x85y", b"c\xc2\x85d"]
    # And the lines still decode to what was sent.
    assert got[2].decode() == "c\u0085d"


async def test_final_line_without_newline_is_yielded() -> None:
    assert await _lines([b"first\nla", b"st"]) == [b"first", b"last"]
    assert await _lines([b"only"]) == [b"only"]


async def test_no_input_no_lines() -> None:
    assert await _lines([]) == []
    assert await _lines([b"done\n"]) == [b"done"]


async def test_empty_lines_are_preserved() -> None:
    assert await _lines([b"a\n\n", b"\nb\n"]) == [b"a", b"", b"", b"b"]
    assert await _lines([b"\n", b"\n"]) == [b"", b""]


async def test_newline_alone_terminates_pending_line() -> None:
    assert await _lines([b"ab", b"cd", b"\n", b"ef"]) == [b"abcd", b"ef"]


async def test_one_megabyte_line_in_64k_chunks() -> None:
    big = bytes(range(256)).replace(b"\n", b"!") * 4096  # 1 MiB, no newlines inside
    assert len(big) == 1 << 20
    stream = b"head\n" + big + b"\ntail\n"
    size = 64 * 1024
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert len(chunks) > 16
    got = await _lines(chunks)
    assert len(got) == 3
    assert got[0] == b"head"
    assert got[1] == big
    assert got[2] == b"tail"


@pytest.mark.parametrize("size", [1, 2, 3, 7])
async def test_any_chunking_gives_the_same_lines(size: int) -> None:
    stream = b"alpha\n\nbeta\r\ngamma\xc2\x85delta\nomega"
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert await _lines(chunks) == stream.split(b"\n")


def test_query_values() -> None:
    assert _query_value(True) == "true"
    assert _query_value(False) == "false"
    assert _query_value(30) == "30"
    assert _query_value("app=web") == "app=web"


def test_kubelet_error_text_is_not_a_log_line() -> None:
    from faro.kube.podlog import LineDedup, split_line

    assert split_line(b"failed to create fsnotify watcher: too many open files") is None
    line = split_line(b"2026-11-26T13:39:32.975798000Z hello world")
    assert line is not None and line.content == b"hello world"
    dedup = LineDedup()
    assert dedup.accept(line) and dedup.since_time == "2026-11-26T13:39:32Z"
