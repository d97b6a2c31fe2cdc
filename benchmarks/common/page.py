"""Pages with hand-written prose and generated tables.

A page (docs/benchmarks.md, docs/benchmarks-scale-logs.md) is written by people; the numbers in
it are not. Each generated part sits between two markers:

    <!-- generated: ingest pods -->
    ... rewritten by the report from the results ...
    <!-- end -->

`rewrite()` replaces what is between the markers of every block it is given content for and
leaves everything else, the prose and the blocks it has no results for, exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

BLOCK = re.compile(r"(<!-- generated: (?P<name>[^>]+?) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)
Block = Callable[[], list[str] | None]  # None: no results for this block, keep what the page has


def names(page: str) -> list[str]:
    return [m.group("name") for m in BLOCK.finditer(page)]


def rewrite(page: str, blocks: Mapping[str, Block]) -> tuple[str, list[str]]:
    """The page with its generated blocks rewritten; and the names of the page's blocks that were
    kept as they were (no results, or no generator for that name)."""
    kept: list[str] = []

    def one(m: re.Match[str]) -> str:
        name = m.group("name")
        make = blocks.get(name)
        lines = make() if make else None
        if lines is None:
            kept.append(name)
            return m.group(0)
        return m.group(1) + "".join(f"{x}\n" for x in lines) + m.group(4)

    return BLOCK.sub(one, page), kept
