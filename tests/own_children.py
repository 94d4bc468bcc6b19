"""This test process's children, for the tests that nothing forked is left behind (unit and host tiers)."""

from __future__ import annotations

from pathlib import Path


def own_children() -> set[int]:
    """This process's children, running or unreaped (every thread's list: a child belongs to the thread that
    forked it)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:
            continue  # the thread ended meanwhile
    return found
