"""How the load path is held (docs/driver.md, "How the load is held"): how many worker processes a rate gets with
each load client, and no sub-millisecond timers (uvloop runs them on the next loop turn: the loop spun)."""

from __future__ import annotations

import asyncio
import importlib
import time

import pytest

from lueur_net.driver import strategies
from lueur_net.driver.spec import CallSpec, ItemSpec, LoadSpec
from lueur_net.driver.strategies import LOAD_CLIENT_ENV, SLEEP_FLOOR_S, sleep_until

drive = importlib.import_module("lueur_net.driver.driving")  # the module that defines drive()


def spec(url: str, total_rps: float, clients: int = 20, workers: int = 0) -> ItemSpec:
    return ItemSpec("t", 0, 0, CallSpec("GET", url), load=LoadSpec(duration_s=1.0, clients=clients,
                                                                    rps=total_rps / clients, workers=workers))


@pytest.mark.parametrize(("url", "client", "total_rps", "expected"), [
    ("http://127.0.0.1:1/", "llhttp", 3000, 1),  # one llhttp process holds 3000 rps
    ("http://127.0.0.1:1/", "llhttp", 3200, 2),
    ("http://127.0.0.1:1/", "llhttp", 50000, 2),  # never more than the CPUs
    ("https://127.0.0.1:1/", "llhttp", 1000, 2),  # TLS loads run on httpx: ~600 rps per process
    ("http://127.0.0.1:1/", "httpx", 600, 1),
    ("http://127.0.0.1:1/", "httpx", 1000, 2),
])
def test_workers_follow_the_load_client_s_capacity_and_the_cpus(
    monkeypatch: pytest.MonkeyPatch, url: str, client: str, total_rps: float, expected: int
) -> None:
    monkeypatch.setattr(drive.os, "cpu_count", lambda: 2)
    monkeypatch.setenv(LOAD_CLIENT_ENV, client)
    assert drive.worker_count(spec(url, total_rps)) == expected
    assert drive.worker_count(spec(url, total_rps, clients=1)) == 1  # never more than the clients
    assert drive.worker_count(spec(url, total_rps, workers=2)) == 2  # a forced count wins


def test_no_timer_shorter_than_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        asked.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(strategies.asyncio, "sleep", recording_sleep)
    async def wait() -> tuple[float, float]:
        moment = time.monotonic() + 0.0003  # a call due in 0.3 ms
        await sleep_until(moment)
        return moment, time.monotonic()

    moment, woke = asyncio.run(wait())
    assert woke >= moment  # never early
    assert asked and min(asked) >= SLEEP_FLOOR_S == 0.001
