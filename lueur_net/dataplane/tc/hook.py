"""One HookPlan (netem and/or TBF composed on one end and hook) applied on one endpoint: the tc backend's handle.

- Egress: our qdiscs on the interface itself (tc/qdisc.py). Ingress: on an IFB the interface's ingress is
  redirected into (tc/ifb.py).
- Windows and jitter: segment 0 is applied before `start` returns; later segments, jitter redraws and the
  fail-open deadline run in a small scheduler thread that sleeps to absolute CLOCK_MONOTONIC instants
  (t0 + edge) and sends `replace` or `delete`.
- Changes between a repeat's iterations are in place too (`update`: the new HookPlan's first segment is sent as
  `replace` on the same qdiscs, the scheduler restarted on the new t0; `pause`: the qdiscs pass everything), so
  a step never removes a qdisc and no packet meets a gap.
- Ledger: every object is recorded before it is created and marked done when removed; its remover (registered
  with the ledger beside the code that creates it) lets `lueur-net clean` remove what a killed run left.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from lueur_net.dataplane.netlink import socket
from lueur_net.dataplane.tc.ifb import IfbRedirect
from lueur_net.dataplane.tc.qdisc import ROOT_HANDLE, HookDevice, remove_tc_qdisc
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Entry, Ledger
from lueur_net.plan.model import HookPlan, Segment


class TcHook:
    """One HookPlan applied on one endpoint (the Handle of the tc backend)."""

    def __init__(self, plan: HookPlan, endpoint: Endpoint, ledger: Ledger, t0_ns: int, deadline_ns: int | None,
                 seed: int = 0) -> None:
        self.plan = plan
        self.endpoint = endpoint
        self.ledger = ledger
        self.t0_ns = t0_ns
        self.deadline_ns = deadline_ns
        self.random = random.Random(seed)
        self.redirect: IfbRedirect | None = None
        self.device: HookDevice | None = None
        self.qdisc_entry: Entry | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.reverted = False
        self.changes: list[tuple[int, str]] = []  # (CLOCK_MONOTONIC ns, what): the timeline actually applied
        # The socket a repeat's steps go through, opened at the first one and kept until revert: opening one in
        # the namespace costs ~10 ms (measured), a step's message well under 1 ms. Only this thread uses it.
        self._steps_ipr: Any = None
        self._steps_context: Any = None
        # A step does not restart the scheduler (a thread start and its netlink socket cost ~5 ms on a busy
        # machine): it bumps `_generation` and wakes it; the scheduler re-reads plan, t0 and deadline, and drops
        # a change it computed for an older generation. `_paused`: nothing to schedule until the next update.
        self._generation = 0
        self._paused = False
        self._wake = threading.Event()

    # ---- apply ----
    def start(self) -> None:
        netns = self.endpoint.netns
        with socket(netns) as ipr:
            if self.plan.hook == "ingress":
                self.redirect = IfbRedirect.create(ipr, self.endpoint, self.ledger)
                self.device = HookDevice(netns, self.redirect.ifb)
            else:
                self.device = HookDevice(netns, self.endpoint.ifname)
            self.qdisc_entry = self.ledger.record("tc_qdisc", netns=netns, ifname=self.device.ifname,
                                                  handle=ROOT_HANDLE)
            first = self._segment_at(self._now_s())
            self._put(ipr, first, self._jitter_draw(first))
        self._start_scheduler()

    def _needs_scheduler(self) -> bool:
        return len(self.plan.segments) > 1 or any(s.config.jitter for s in self.plan.segments) \
            or self.deadline_ns is not None

    def _start_scheduler(self) -> None:
        if self._needs_scheduler():
            self.stop = threading.Event()  # each scheduler its own: a late one never sees its successor's
            self.thread = threading.Thread(target=self._run, args=(self.stop,), name=f"lueur-tc-{self.plan.key}",
                                           daemon=True)
            self.thread.start()

    def _stop_scheduler(self) -> None:
        self.stop.set()
        self._wake.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)
        self.thread = None

    def update(self, plan: HookPlan, context: Any) -> None:
        """Carry `plan` (same side and hook) from `context.t0_ns` on, on the same qdiscs: `replace` of the same
        kind is a change in the kernel (netem keeps its queue, TBF its bucket), and the running scheduler is told
        the new timeline (or one is started)."""
        if (plan.side, plan.hook) != (self.plan.side, self.plan.hook):
            raise ValueError(f"tc update: {plan.key} cannot replace {self.plan.key} in place")
        with self.lock:
            self._generation += 1
            self._paused = False
            self.plan = plan
            self.t0_ns = context.t0_ns
            self.deadline_ns = context.deadline_ns
            self.random = random.Random(context.seed)
        first = self._segment_at(self._now_s())
        self._put(self._steps_socket(), first, self._jitter_draw(first))
        if self.thread is not None and self.thread.is_alive():
            self._wake.set()
        else:
            self._start_scheduler()

    def _steps_socket(self) -> Any:
        if self._steps_ipr is None:
            self._steps_context = socket(self.endpoint.netns)
            self._steps_ipr = self._steps_context.__enter__()  # left by revert()
        return self._steps_ipr

    def pause(self) -> None:
        """Pass everything on the same qdiscs (netem without delay, TBF at 100 Gbit/s) until the next update."""
        assert self.device is not None
        ipr = self._steps_socket()
        with self.lock:
            self._generation += 1
            self._paused = True
            if not self.reverted:
                self.device.lift(ipr, self.device.index(ipr))
                self.changes.append((time.monotonic_ns(), "paused"))
        self._wake.set()

    def _now_s(self) -> float:
        return (time.monotonic_ns() - self.t0_ns) / 1e9

    def _segment_at(self, t: float) -> Segment:
        current = self.plan.segments[0]
        for segment in self.plan.segments:
            if segment.start_s <= t:
                current = segment
        return current

    def _jitter_draw(self, segment: Segment) -> int:
        return sum(round(self.random.uniform(0, j.amplitude_ns)) for j in segment.config.jitter)

    def _put(self, ipr: Any, segment: Segment, extra_ns: int, generation: int | None = None) -> None:
        """Put `segment`; with `generation` (the scheduler's), only if no step came since it computed it."""
        assert self.device is not None
        with self.lock:
            if self.reverted or (generation is not None and generation != self._generation):
                return
            self.device.put(ipr, segment.config, extra_ns)
            self.changes.append((time.monotonic_ns(), f"{segment.start_s:g}s {' '.join(segment.fault_ids) or '-'}"
                                                      f"{f' +{extra_ns / 1e6:.1f}ms' if extra_ns else ''}"))

    def _next_instant(self, segment: Segment, last_tick_ns: int) -> tuple[int, str]:
        """The next CLOCK_MONOTONIC instant something changes and what: 'edge', 'jitter' or 'deadline'."""
        candidates: list[tuple[int, str]] = []
        if segment.end_s is not None:
            candidates.append((self.t0_ns + round(segment.end_s * 1e9), "edge"))
        if segment.config.jitter:
            period_ns = round(1e9 / max(j.frequency_hz for j in segment.config.jitter))
            candidates.append((last_tick_ns + period_ns, "jitter"))
        if self.deadline_ns is not None:
            candidates.append((self.deadline_ns, "deadline"))
        return min(candidates) if candidates else (0, "none")

    def _run(self, stop: threading.Event) -> None:
        try:
            with socket(self.endpoint.netns) as ipr:
                generation = -1
                segment = self.plan.segments[0]
                last_tick = 0
                while not stop.is_set():
                    with self.lock:
                        if generation != self._generation:  # started, or a step came: read the new timeline
                            generation = self._generation
                            segment = self._segment_at(self._now_s())
                            last_tick = time.monotonic_ns()
                        paused = self._paused
                    instant, what = (0, "none") if paused else self._next_instant(segment, last_tick)
                    if what == "none" and not paused:
                        return
                    timeout = None if what == "none" else max(0.0, (instant - time.monotonic_ns()) / 1e9)
                    if self._wake.wait(timeout):
                        self._wake.clear()  # a step bumped the generation before setting it: re-read it
                        continue  # (or revert stopped us: checked at the top)
                    if what == "deadline":
                        with self.lock:
                            if not self.reverted and self.device is not None and generation == self._generation:
                                self.device.remove(ipr)
                                self.changes.append((time.monotonic_ns(), "deadline: removed"))
                                return
                        continue
                    if what == "edge":
                        segment = self._segment_at(self._now_s() + 1e-9)
                    last_tick = instant
                    self._put(ipr, segment, self._jitter_draw(segment), generation)
        except BaseException as error:  # noqa: BLE001 - kept for revert() to report
            self.error = error

    # ---- handle ----
    def revert(self) -> None:
        self._stop_scheduler()
        with self.lock:
            if self.reverted:
                return
            self.reverted = True
        if self._steps_context is not None:
            self._steps_context.__exit__(None, None, None)
            self._steps_context = self._steps_ipr = None
        with socket(self.endpoint.netns) as ipr:
            if self.device is not None:
                self.device.remove(ipr)
            if self.qdisc_entry is not None:
                remove_tc_qdisc(self.qdisc_entry.fields, ipr)
                self.ledger.done(self.qdisc_entry)
            if self.redirect is not None:
                self.redirect.remove(ipr, self.ledger)

    def counters(self) -> dict[str, int]:
        if self.device is None:
            return {}
        if self.reverted:
            return {"packets": self.device.state.packets, "dropped": self.device.state.drops}
        with socket(self.endpoint.netns) as ipr:
            return self.device.counters(ipr)
