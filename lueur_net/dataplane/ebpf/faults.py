"""The eBPF faults: load a program from objects/, fill its maps, attach it, read its counters, revert it.

One public function per fault kind (attach_loss, attach_blackhole, attach_police, attach_httperror,
attach_dns, attach_reset), each returning an EbpfFault with counters() and revert(). They all take the
interface as an Endpoint (lueur_net.lab.topology) and a Hook, plus an optional scope, active windows, a
fail-open deadline and the run's ledger.

Fail-open, twice: the deadline (the end of the item plus a margin, given by the run) and the heartbeat. Every fault
registers with lueur_net.dataplane.heartbeat, whose thread writes the time into the program's `lueur_alive` map
every 0.5 s; the program passes everything (and counts `stale`) once that beat is older than MAX_STALL_S. So a
controller frozen by SIGSTOP, a debugger or a stalled machine stops faulting within MAX_STALL_S + 0.5 s (measured:
README "Reliability"), and faults again when it resumes (the calls are then recorded by a driver that knows).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict, Unpack

from lueur_net.dataplane import heartbeat
from lueur_net.dataplane.ebpf import maps
from lueur_net.dataplane.ebpf.attach import ClsBpfFilter, TcxLink, attach_cls_bpf, attach_tcx, tcx_unsupported
from lueur_net.dataplane.ebpf.libbpf import BpfObject
from lueur_net.dataplane.ebpf.model import Hook, Scope, Timing, Window, threshold
from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.topology import Endpoint
from lueur_net.ledger import Ledger

OBJECTS_DIR = Path(__file__).parent / "objects"
KINDS = ("loss", "blackhole", "police", "httperror", "dns", "reset")
COUNTER_NAMES = ("seen", "matched", "eligible", "affected", "past_deadline", "stale")  # enum lueur_counter
# A program passes everything once the controller's heartbeat (every heartbeat.INTERVAL_S) is older than this:
# six missed beats, so a busy machine does not lift a fault by mistake, and a frozen one lifts it within seconds.
MAX_STALL_S = 3.0
Mode = Literal["auto", "tcx", "cls_bpf"]
DEFAULT_POLICE_BURST_MIN = 256 * 1024  # bytes; must exceed one GSO packet (64 KiB) or TCP collapses
DNS_ANSWERS = {"servfail": 2, "nxdomain": 3, "refused": 5}


class Placement(TypedDict, total=False):
    """The keywords every attach_* function takes besides its fault's own parameters (see attach())."""

    scope: Scope | None
    windows: Sequence[Window]
    deadline_ns: int | None
    ledger: Ledger | None
    mode: Mode
    max_stall_s: float | None


@dataclass(frozen=True)
class Counters:
    """Packets through the hook since attach (see enum lueur_counter in bpf/lueur_common.h)."""

    seen: int = 0  # every packet
    matched: int = 0  # in scope, in an active window, before the deadline
    eligible: int = 0  # matched and of the kind the fault acts on
    affected: int = 0  # dropped, rewritten or reset
    past_deadline: int = 0  # in scope but passed because the deadline was over
    stale: int = 0  # in scope but passed because the controller's heartbeat was older than its maximum age

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}


def object_path(kind: str) -> Path:
    path = OBJECTS_DIR / f"{kind}.bpf.o"
    if not path.exists():
        raise EnvironmentProblem(
            f"the eBPF object for '{kind}' is missing ({path})",
            hint="build the objects with `make -C bpf` (setup.sh does it)",
        )
    return path


class EbpfFault:
    """One program attached to one hook. revert() is idempotent; the fault is also a context manager."""

    def __init__(
        self,
        kind: str,
        endpoint: Endpoint,
        hook: Hook,
        bpf: BpfObject,
        attachment: TcxLink | ClsBpfFilter,
        max_stall_s: float | None = None,
    ) -> None:
        self.kind = kind
        self.endpoint = endpoint
        self.hook = hook
        self.attached_at_ns = time.monotonic_ns()
        self.max_stall_ns = 0 if max_stall_s is None else int(max_stall_s * 1e9)
        self._bpf = bpf
        self._attachment = attachment
        self._counters = bpf.map("lueur_counters")
        self._alive = bpf.map("lueur_alive")
        self._beat_lock = threading.Lock()  # a beat never writes to a map whose fd revert() closed
        self._final: Counters | None = None
        if self.max_stall_ns:
            heartbeat.register(self)

    def beat(self) -> None:
        """The heartbeat thread's call: the controller is alive now."""
        with self._beat_lock:
            if self._final is None:
                self._alive.update(0, alive_value(self.max_stall_ns))

    @property
    def mechanism(self) -> str:
        """ "tcx" or "cls_bpf"."""
        return self._attachment.mechanism

    def counters(self) -> Counters:
        """Current counters, summed over CPUs (after revert: the last values read before detaching)."""
        if self._final is not None:
            return self._final
        return Counters(*(sum(self._counters.lookup_percpu_u64(i)) for i in range(len(COUNTER_NAMES))))

    def set_timing(self, windows: Sequence[Window] = (), deadline_ns: int | None = None) -> None:
        """Replace the active windows and deadline (a packet racing the update may see a mix of both)."""
        self._bpf.map("lueur_timing").update(0, maps.encode_timing(Timing(tuple(windows), deadline_ns)))

    def set_params(self, params: ctypes.Structure) -> None:
        """Replace the program's parameters in place (a repeat's next step): the program, its link and its state
        (a police bucket) stay."""
        self._bpf.map("lueur_params").update(0, params)

    def pause(self) -> None:
        """Pass everything in place: one window that is long over (no window would mean always active)."""
        self.set_timing((NEVER,), None)

    def revert(self) -> Counters:
        """Detach and free the program; returns the final counters."""
        if self._final is not None:
            return self._final
        heartbeat.unregister(self)
        final = self.counters()
        with self._beat_lock:
            try:
                self._attachment.detach()
            finally:
                self._bpf.close()
                self._final = final
        return final

    def __enter__(self) -> EbpfFault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.revert()

    def __repr__(self) -> str:
        where = f"{self.endpoint.netns or 'host'}/{self.endpoint.ifname}"
        return f"EbpfFault({self.kind} at {where} {self.hook.value} via {self.mechanism})"


def attach(
    kind: str,
    params: ctypes.Structure,
    endpoint: Endpoint,
    hook: Hook | str,
    *,
    scope: Scope | None = None,
    windows: Sequence[Window] = (),
    deadline_ns: int | None = None,
    ledger: Ledger | None = None,
    mode: Mode = "auto",
    max_stall_s: float | None = MAX_STALL_S,
) -> EbpfFault:
    """Load objects/<kind>.bpf.o, fill its maps (before attaching: the first packet already sees them), and
    attach program lueur_<kind> at `hook` of `endpoint`'s interface, by tcx where possible.

    `max_stall_s`: the program passes everything while this process's heartbeat is older than that (None: no
    heartbeat check, only the deadline)."""
    if max_stall_s is not None and not 0 < max_stall_s <= 3600:
        raise BadInput(f"max_stall_s must be between 0 and 3600 seconds, got {max_stall_s}")
    max_stall_ns = 0 if max_stall_s is None else int(max_stall_s * 1e9)
    if kind not in KINDS:
        raise BadInput(f"unknown eBPF fault kind '{kind}' (known: {', '.join(KINDS)})")
    hook = Hook(hook)
    timing = Timing(tuple(windows), deadline_ns)
    bpf = BpfObject(object_path(kind))
    try:
        bpf.map("lueur_scope").update(0, maps.encode_scope(scope or Scope()))
        bpf.map("lueur_timing").update(0, maps.encode_timing(timing))
        bpf.map("lueur_alive").update(0, alive_value(max_stall_ns))
        bpf.map("lueur_params").update(0, params)
        program_fd = bpf.program_fd(f"lueur_{kind}")
        name = f"lueur_{kind}"
        attachment: TcxLink | ClsBpfFilter
        if mode == "cls_bpf":
            attachment = attach_cls_bpf(program_fd, endpoint.netns, endpoint.ifname, hook, name, ledger)
        else:
            try:
                attachment = attach_tcx(program_fd, endpoint.netns, endpoint.ifname, hook, name, ledger)
            except OSError as error:
                if mode == "tcx" or not tcx_unsupported(error):
                    raise EnvironmentProblem(
                        f"attaching {name} at {hook.value} of {endpoint.ifname} failed: {error.strerror}",
                        hint="tcx needs Linux >= 6.6; use mode='cls_bpf' on older kernels"
                        if mode == "tcx"
                        else None,
                    ) from error
                attachment = attach_cls_bpf(program_fd, endpoint.netns, endpoint.ifname, hook, name, ledger)
    except BaseException:
        bpf.close()
        raise
    return EbpfFault(kind, endpoint, hook, bpf, attachment, max_stall_s)


NEVER = Window(1, 2)  # a window that ended at boot: the program matches nothing


def alive_value(max_age_ns: int, now_ns: int | None = None) -> maps.AliveValue:
    """The `lueur_alive` value of a beat at `now_ns` (default: now)."""
    return maps.AliveValue(last_ns=time.monotonic_ns() if now_ns is None else now_ns, max_age_ns=max_age_ns)


# --- one function per fault kind -------------------------------------------------------------------


@dataclass(frozen=True)
class GilbertElliott:
    """Two-state loss: per packet, good -> bad with p, bad -> good with r, then loss with the new state's
    probability. Stationary loss = (r * loss_good + p * loss_bad) / (p + r); mean burst length 1 / r."""

    p: float
    r: float
    loss_bad: float = 1.0
    loss_good: float = 0.0


def loss_params(probability: float = 0.0, gilbert_elliott: GilbertElliott | None = None) -> maps.LossParams:
    params = maps.LossParams()
    if gilbert_elliott is None:
        params.mode = 0
        params.probability = threshold(probability)
    else:
        params.mode = 1
        params.ge_p = threshold(gilbert_elliott.p, "Gilbert-Elliott p")
        params.ge_r = threshold(gilbert_elliott.r, "Gilbert-Elliott r")
        params.ge_loss_good = threshold(gilbert_elliott.loss_good, "Gilbert-Elliott loss_good")
        params.ge_loss_bad = threshold(gilbert_elliott.loss_bad, "Gilbert-Elliott loss_bad")
    return params


def attach_loss(
    endpoint: Endpoint,
    hook: Hook | str,
    probability: float = 0.0,
    *,
    gilbert_elliott: GilbertElliott | None = None,
    **common: Unpack[Placement],
) -> EbpfFault:
    """Drop packets in scope: Bernoulli with `probability`, or the Gilbert-Elliott model when given."""
    return attach("loss", loss_params(probability, gilbert_elliott), endpoint, hook, **common)


BLACKHOLE_MODES = {"all": 0, "new": 1, "established": 2}


def attach_blackhole(
    endpoint: Endpoint, hook: Hook | str, only: str = "all", **common: Unpack[Placement]
) -> EbpfFault:
    """Drop every packet in scope ("all"), or only TCP SYNs ("new": connects time out, open connections go
    on), or only TCP segments after the handshake ("established": connects succeed, then silence)."""
    return attach("blackhole", blackhole_params(only), endpoint, hook, **common)


def blackhole_params(only: str = "all") -> maps.BlackholeParams:
    if only not in BLACKHOLE_MODES:
        raise BadInput(f"blackhole 'only' must be one of {', '.join(BLACKHOLE_MODES)}, got '{only}'")
    return maps.BlackholeParams(mode=BLACKHOLE_MODES[only])


def default_police_burst(rate_bytes_per_s: int) -> int:
    """The larger of 256 KiB (four GSO packets) and 10 ms at the rate."""
    return max(DEFAULT_POLICE_BURST_MIN, rate_bytes_per_s // 100)


def attach_police(
    endpoint: Endpoint,
    hook: Hook | str,
    rate_bytes_per_s: int,
    burst_bytes: int | None = None,
    **common: Unpack[Placement],
) -> EbpfFault:
    """Police to `rate_bytes_per_s` with a token bucket of `burst_bytes` (default: default_police_burst):
    packets beyond the bucket are dropped, not queued. For smooth shaping use the tc backend's TBF."""
    return attach("police", police_params(rate_bytes_per_s, burst_bytes), endpoint, hook, **common)


def police_params(rate_bytes_per_s: int, burst_bytes: int | None = None) -> maps.PoliceParams:
    if rate_bytes_per_s <= 0 or rate_bytes_per_s > 10**12:
        raise BadInput(f"police rate must be between 1 byte/s and 1 TB/s, got {rate_bytes_per_s}")
    burst = default_police_burst(rate_bytes_per_s) if burst_bytes is None else burst_bytes
    if burst < 1500:
        raise BadInput(f"police burst must hold at least one full packet (1500 bytes), got {burst}")
    return maps.PoliceParams(rate_bytes_per_s=rate_bytes_per_s, burst_bytes=burst)


def attach_httperror(
    endpoint: Endpoint,
    hook: Hook | str,
    status_code: int,
    probability: float = 1.0,
    **common: Unpack[Placement],
) -> EbpfFault:
    """Rewrite the status code of plaintext HTTP/1.x responses to `status_code` with `probability`
    (attach where responses flow: client ingress or server egress)."""
    return attach("httperror", httperror_params(status_code, probability), endpoint, hook, **common)


def httperror_params(status_code: int, probability: float = 1.0) -> maps.HttpErrorParams:
    if not 100 <= status_code <= 999:
        raise BadInput(f"status_code must have three digits (100-999), got {status_code}")
    params = maps.HttpErrorParams(probability=threshold(probability))
    params.status[:] = list(f"{status_code:03d}".encode()) + [0]
    return params


def attach_dns(
    endpoint: Endpoint,
    hook: Hook | str,
    answer: str = "nxdomain",
    probability: float = 1.0,
    port: int = 53,
    **common: Unpack[Placement],
) -> EbpfFault:
    """Turn DNS answers over UDP from `port` into NXDOMAIN, SERVFAIL or REFUSED, or drop them ("drop":
    the client times out), with `probability` (attach where answers flow: client ingress or server egress)."""
    return attach("dns", dns_params(answer, probability, port), endpoint, hook, **common)


def dns_params(answer: str = "nxdomain", probability: float = 1.0, port: int = 53) -> maps.DnsParams:
    if answer != "drop" and answer not in DNS_ANSWERS:
        raise BadInput(f"dns answer must be one of {', '.join([*DNS_ANSWERS, 'drop'])}, got '{answer}'")
    if not 1 <= port <= 65535:
        raise BadInput(f"dns port must be 1-65535, got {port}")
    return maps.DnsParams(
        probability=threshold(probability),
        action=1 if answer == "drop" else 0,
        rcode=DNS_ANSWERS.get(answer, 0),
        port=port,
    )


def attach_reset(
    endpoint: Endpoint, hook: Hook | str, probability: float = 1.0, **common: Unpack[Placement]
) -> EbpfFault:
    """With `probability` per data segment, turn a segment of an established TCP connection into a RST: the
    receiving side's application sees ECONNRESET (attach on the path into the side that should see it)."""
    return attach("reset", reset_params(probability), endpoint, hook, **common)


def reset_params(probability: float = 1.0) -> maps.ResetParams:
    return maps.ResetParams(probability=threshold(probability))
