"""Test tiers follow the folders: tests/unit, tests/host, tests/e2e, tests/runtime, tests/llm, tests/kernel (DESIGN.md).

Every test gets its folder's marker, so `-m host` selects the host tier. Host and e2e tests need root; without it
they are skipped with the reason printed (never silently), and the README's test command runs them as root.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

# Property-based tests explore new inputs on every developer run; under CI (CI=true) they replay a fixed sequence,
# so a submission's verdict does not depend on which random inputs that one run happened to draw.
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.load_profile("ci")

# The tests send SIGINT to what they start (Ctrl-C must revert everything). A shell without job control that
# starts the tests in the background (`make test &` in a script) makes SIGINT ignored, and an ignored signal stays
# ignored across exec (POSIX): the children would never see it. A caught signal is reset to its default at exec,
# so taking SIGINT back here gives every child SIGINT's default, as from a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

TIERS = ("unit", "host", "e2e", "runtime", "llm", "kernel")
ROOT_TIERS = ("host", "e2e", "runtime", "kernel")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        relative = Path(str(item.fspath)).relative_to(tests_dir)
        tier = relative.parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
            if tier in ROOT_TIERS and os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason=f"{tier} tests need root (sudo make test)"))


@pytest.fixture(autouse=True)
def _no_signal_left_blocked() -> Iterator[None]:
    """Every child a test starts inherits the process's signal mask: one test that leaves SIGTERM blocked makes
    every later `terminate()` a no-op and the rest of the tier hang. Fail the test that leaks it, and unblock."""
    import signal

    yield
    left = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    if left:
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        pytest.fail(f"the test left signals blocked: {sorted(s.name for s in left)}")
