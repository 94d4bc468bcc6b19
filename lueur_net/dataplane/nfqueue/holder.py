"""The nfqueue holder: a process inside the receiving namespace that holds each queued packet until its due time.

Run by `lueur_net.dataplane.nfqueue.delay` as `python -m lueur_net.dataplane.nfqueue.holder --control-fd N
[--netns TARGET]`. It enters the namespace first (it is single-threaded then), reads its configuration as one JSON
line from the control socket, binds the first free queue number among the candidates, answers
{"ready": true, "queue": n}, and then runs one loop on epoll:
- the queue's netlink socket: each packet gets a due time (spec.DuePlanner) and goes on a heap, or is accepted at
  once (outside the windows, or zero delay);
- a timerfd armed (absolute, CLOCK_MONOTONIC) at the earliest due time: due packets are released in order
  (Holder.release: mark bit + repeat, so further nfqueue rules on the same interface still see them);
- the control socket: {"cmd": "counters"} answers the counters; {"cmd": "update", "spec": ..., "windows": [...]}
  puts a new delay on the packets from then on (a repeat's step, in place: no restart) and answers the counters;
  {"cmd": "stop"} or EOF (the owner died) accepts
  every held packet (fail-open: nothing is lost), answers the final counters and exits.
Fail-open when something stalls (docs/nfqueue.md):
- the queue is bound with NFQA_CFG_F_FAIL_OPEN (set over nfnetlink on the queue's own socket: NetfilterQueue 1.1
  exposes no flags): when `max_len` packets wait for a verdict (this holder stopped, or overwhelmed), the kernel
  accepts further packets at once instead of dropping them;
- the owner pings every 0.5 s (lueur_net.dataplane.heartbeat); when no message came for `owner_max_stall_ns` (the
  owner is frozen), the holder releases what it holds and passes every packet until the owner speaks again.
SIGTERM and SIGINT also end it cleanly (`lueur-net clean` sends SIGTERM). Single-threaded by design: verdicts,
heap and counters never race.
"""

from __future__ import annotations

import argparse
import ctypes
import heapq
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from lueur_net.dataplane.nfqueue.spec import DelaySpec, DuePlanner, Window

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1
PR_SET_TIMERSLACK = 29
PR_SET_NAME = 15
COPY_META = 1  # netfilterqueue.COPY_META: we never read payloads
# nfnetlink queue configuration (linux/netfilter/nfnetlink_queue.h, linux/netlink.h)
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_CONFIG = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 0x2
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQA_CFG_F_FAIL_OPEN = 0x1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = ctypes.CDLL(None, use_errno=True)


class Timer:
    """A timerfd on CLOCK_MONOTONIC armed at absolute times (ns)."""

    def __init__(self) -> None:
        self.fd = _libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self.armed_ns = 0

    def arm(self, at_ns: int) -> None:
        """Arm at `at_ns` (0 disarms)."""
        if at_ns == self.armed_ns:
            return
        value = _Itimerspec()
        value.it_value.tv_sec, value.it_value.tv_nsec = divmod(max(at_ns, 0), 1_000_000_000)
        if at_ns and value.it_value.tv_sec == 0 and value.it_value.tv_nsec == 0:
            value.it_value.tv_nsec = 1
        if _libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(value), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")
        self.armed_ns = at_ns

    def consume(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass
        self.armed_ns = 0


@dataclass
class Counters:
    packets: int = 0  # every packet the queue handed us
    affected: int = 0  # held for a delay
    passed: int = 0  # accepted at once (outside windows or zero delay)
    held: int = 0  # held right now
    max_held: int = 0
    late_over_1ms: int = 0  # released more than 1 ms after their due time
    max_late_us: int = 0
    late_sum_us: int = 0
    owner_stalls: int = 0  # times the owner's pings stopped for longer than its maximum stall

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Holder:
    planner: DuePlanner
    mark_bit: int = 0  # see release(): 0 = plain accept
    counters: Counters = field(default_factory=Counters)
    heap: list[tuple[int, int, Any]] = field(default_factory=list)
    owner_stalled: bool = False  # the owner's pings stopped: pass everything (see serve())
    _seq: int = 0

    def release(self, packet: Any) -> None:
        """Let a packet go. With a mark bit: set it and repeat the hook, so the packet walks the chain again and
        meets the NEXT nfqueue rule on this interface (our rule skips packets carrying its bit). A plain accept
        would end the chain, and a second delay on the same path would never see the packet."""
        if self.mark_bit:
            packet.set_mark(packet.get_mark() | self.mark_bit)
            packet.repeat()
        else:
            packet.accept()

    def on_packet(self, packet: Any) -> None:
        now = time.monotonic_ns()
        self.counters.packets += 1
        due = None if self.owner_stalled else self.planner.due_ns(now)
        if due is None or due <= now:
            self.release(packet)
            self.counters.passed += 1
            return
        self._seq += 1
        heapq.heappush(self.heap, (due, self._seq, packet))
        self.counters.affected += 1
        self.counters.held = len(self.heap)
        self.counters.max_held = max(self.counters.max_held, self.counters.held)

    def update(self, message: dict[str, Any]) -> None:
        """A new spec and windows for the packets from now on (a repeat's next step, or its baseline's
        pass-through): held packets keep the due time they were given, so nothing is released early or lost."""
        self.planner = DuePlanner(DelaySpec(**message["spec"]),
                                  tuple(Window(**window) for window in message.get("windows", [])))

    def release_due(self) -> None:
        now = time.monotonic_ns()
        while self.heap and self.heap[0][0] <= now:
            due, _, packet = heapq.heappop(self.heap)
            self.release(packet)
            late_us = (now - due) // 1000
            self.counters.late_sum_us += late_us
            self.counters.max_late_us = max(self.counters.max_late_us, late_us)
            if late_us > 1000:
                self.counters.late_over_1ms += 1
        self.counters.held = len(self.heap)

    def release_all(self) -> None:
        while self.heap:
            self.release(heapq.heappop(self.heap)[2])
        self.counters.held = 0

    @property
    def next_due_ns(self) -> int:
        return self.heap[0][0] if self.heap else 0


def bind_first_free(queue: Any, callback: Any, candidates: list[int], max_len: int) -> int:
    """Bind the first queue number no other process holds in this namespace."""
    last_error: Exception | None = None
    for number in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rcvbuf size notes
                queue.bind(number, callback, max_len=max_len, mode=COPY_META, range=0,
                           sock_len=8 * 1024 * 1024)
            return number
        except OSError as error:
            last_error = error
    raise OSError(f"no free NFQUEUE number among {len(candidates)} candidates: {last_error}")


def config_message(queue: int, flags: int, mask: int, seq: int = 1) -> bytes:
    """An NFQNL_MSG_CONFIG request (with ACK) setting `flags` under `mask` on queue `queue`."""

    def attribute(kind: int, value: int) -> bytes:
        return struct.pack("=HH", 8, kind) + struct.pack(">I", value)  # 4-byte payload: no padding

    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue))  # nfgenmsg: family, version, res_id
    body += attribute(NFQA_CFG_MASK, mask) + attribute(NFQA_CFG_FLAGS, flags)
    header = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG,
                         NLM_F_REQUEST | NLM_F_ACK, seq, 0)
    return header + body


def netlink_ack_error(reply: bytes) -> int:
    """The error code of a netlink ACK (0 = success, else a negative errno); raises ValueError on anything else."""
    if len(reply) < 20:
        raise ValueError(f"short netlink reply ({len(reply)} bytes)")
    _, kind, _, _, _ = struct.unpack("=IHHII", reply[:16])
    if kind != NLMSG_ERROR:
        raise ValueError(f"unexpected netlink message type {kind} (wanted an ACK)")
    return int(struct.unpack("=i", reply[16:20])[0])


def set_fail_open(queue_fd: int, queue: int, timeout_s: float = 2.0) -> None:
    """Set NFQA_CFG_F_FAIL_OPEN on `queue`, through the socket that bound it (the kernel takes a queue's config only
    from its owner). Called before the iptables rule exists, so the only message coming back is the ACK."""
    os.write(queue_fd, config_message(queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN))
    readable, _, _ = select.select([queue_fd], [], [], timeout_s)
    if not readable:
        raise OSError(f"no answer from the kernel setting fail-open on queue {queue}")
    error = netlink_ack_error(os.read(queue_fd, 65536))
    if error:
        raise OSError(-error, f"setting fail-open on queue {queue}: {os.strerror(-error)}")


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.sendall((json.dumps(message) + "\n").encode())


def serve(control: socket.socket) -> int:
    try:
        from netfilterqueue import NetfilterQueue
    except ImportError as error:
        _send(control, {"ready": False, "error": f"NetfilterQueue is not importable ({error})"})
        return 1
    from lueur_net.plan import netem_tables  # noqa: F401 - the delay's sampling needs it: ~20 ms, taken while a
    # spare holder waits for its configuration (delay.prestart) rather than after it, on the apply's path
    reader = control.makefile("rb")
    line = reader.readline()
    if not line:  # a spare started ahead (delay.prestart) that its owner no longer needs, or the owner died
        return 0
    config = json.loads(line)
    spec = DelaySpec(**config["spec"])
    windows = tuple(Window(**window) for window in config.get("windows", []))
    holder = Holder(DuePlanner(spec, windows), mark_bit=int(config.get("mark_bit", 0)))
    queue = NetfilterQueue()
    try:
        number = bind_first_free(queue, holder.on_packet, list(config["candidates"]), int(config["max_len"]))
        set_fail_open(queue.get_fd(), number)
    except OSError as error:
        _send(control, {"ready": False, "error": str(error)})
        return 1
    owner_max_stall_ns = int(config.get("owner_max_stall_ns") or 0)  # 0: the owner does not ping
    _libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)  # wake up at the due time, not up to 50 µs later
    timer = Timer()
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    stopping: list[bool] = []
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    poller = select.epoll()
    queue_fd = queue.get_fd()
    poller.register(queue_fd, select.EPOLLIN)
    poller.register(timer.fd, select.EPOLLIN)
    poller.register(control.fileno(), select.EPOLLIN)
    poller.register(wake_read, select.EPOLLIN)
    _send(control, {"ready": True, "queue": number, "pid": os.getpid()})
    buffer = b""
    last_heard_ns = time.monotonic_ns()
    try:
        while not stopping:
            timeout_s = -1.0
            if owner_max_stall_ns and not holder.owner_stalled:
                timeout_s = max(0.0, (last_heard_ns + owner_max_stall_ns - time.monotonic_ns()) / 1e9) + 0.001
            events = poller.poll(timeout_s)
            if owner_max_stall_ns and not holder.owner_stalled and \
                    time.monotonic_ns() - last_heard_ns > owner_max_stall_ns:
                holder.owner_stalled = True  # the owner is frozen: fail open until it speaks again
                holder.counters.owner_stalls += 1
                holder.release_all()
            for fd, _ in events:
                if fd == queue_fd:
                    queue.run(block=False)
                elif fd == timer.fd:
                    timer.consume()
                    holder.release_due()
                elif fd == wake_read:
                    os.read(wake_read, 64)
                elif fd == control.fileno():
                    data = control.recv(4096)
                    if not data:
                        stopping.append(True)  # the owner is gone: fail open
                        break
                    buffer += data
                    last_heard_ns = time.monotonic_ns()
                    holder.owner_stalled = False
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        message = json.loads(line)
                        command = message.get("cmd")
                        if command == "stop":
                            stopping.append(True)
                        else:
                            if command == "update":
                                holder.update(message)
                            _send(control, holder.counters.as_dict())
            holder.release_due()
            timer.arm(holder.next_due_ns)
    finally:
        holder.release_all()
        queue.unbind()
    try:
        _send(control, holder.counters.as_dict())
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lueur-net-nfqueue-holder")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--netns", help="ip netns name or /proc/PID/ns/net path (absent: stay where we are)")
    args = parser.parse_args(argv)
    _libc.prctl(PR_SET_NAME, b"lueur-nfqueue", 0, 0, 0)  # how it shows in ps/top
    control = socket.socket(fileno=args.control_fd)
    if args.netns:
        from lueur_net.lab.enter import enter_netns

        try:
            enter_netns(args.netns)
        except Exception as error:  # noqa: BLE001 - reported to the owner as the start failure
            _send(control, {"ready": False, "error": f"entering namespace {args.netns}: {error}"})
            return 1
    return serve(control)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # without the interpreter's teardown (~10 ms): the owner waits for this exit at every revert
