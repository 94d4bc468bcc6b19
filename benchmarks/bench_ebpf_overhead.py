"""eBPF overhead: per-packet program cost, pass-through throughput with and without a program attached, and
map update latency. Printed, not asserted. Targets (issue 5): throughput >= 95 % of none at p=0; map update
<= 50 us.

1. Per-packet cost: BPF_PROG_TEST_RUN runs each program on a 64-byte UDP packet (and an HTTP response
   segment for httperror) many times in the kernel and reports the mean ns per run.
2. Throughput: TCP bulk transfer between two namespaces over a veth (sockets in this process, 1 MiB
   writes), alternating runs without and with each program attached at the sender's egress and p=0 (every
   packet parsed, scope-matched and passed).
3. Map updates: bpf_map_update_elem of the largest value (the windows map) through the ctypes binding.

    sudo .venv/bin/python benchmarks/bench_ebpf_overhead.py [--seconds 1] [--runs 5]
"""

from __future__ import annotations

import argparse
import ctypes
import socket
import statistics
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

for _helpers in ("tests", "tests/host/ebpf"):  # the tests' namespace pair and traffic helpers
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / _helpers))
from ebpf_lab import Pair, namespace_pair  # noqa: E402

from lueur_net.dataplane.ebpf import (  # noqa: E402
    EbpfFault,
    Scope,
    Window,
    attach_blackhole,
    attach_dns,
    attach_httperror,
    attach_loss,
    attach_police,
    attach_reset,
    maps,  # noqa: E402
)
from lueur_net.dataplane.ebpf.faults import KINDS, object_path  # noqa: E402
from lueur_net.dataplane.ebpf.libbpf import BpfObject, library  # noqa: E402
from lueur_net.dataplane.ebpf.model import Timing  # noqa: E402

PORT = 9700


class TestRunOpts(ctypes.Structure):  # struct bpf_test_run_opts (libbpf >= 0.7)
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("data_in", ctypes.c_void_p),
        ("data_out", ctypes.c_void_p),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_void_p),
        ("ctx_out", ctypes.c_void_p),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("repeat", ctypes.c_int),
        ("duration", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
    ]


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def packet(protocol: int, payload: bytes, sport: int, dport: int) -> bytes:
    """Ethernet + IPv4 + UDP/TCP(ACK|PSH) + payload."""
    if protocol == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    else:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, 0x18, 65535, 0, 0)
    total = 20 + len(l4) + len(payload)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        total,
        0,
        0,
        64,
        protocol,
        0,
        socket.inet_aton("10.0.0.2"),
        socket.inet_aton("10.0.0.1"),
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4 + payload


def per_packet_ns(
    kind: str, data: bytes, params: ctypes.Structure, repeat: int = 200000
) -> tuple[float, float]:
    """Mean ns per run, and the share of runs that reached the fault (counter `eligible`)."""
    lib = library()
    lib.bpf_prog_test_run_opts.restype = ctypes.c_int
    lib.bpf_prog_test_run_opts.argtypes = [ctypes.c_int, ctypes.POINTER(TestRunOpts)]
    bpf = BpfObject(object_path(kind))
    try:
        bpf.map("lueur_scope").update(0, maps.encode_scope(Scope.peer("10.0.0.2", hook="ingress")))
        bpf.map("lueur_timing").update(0, maps.encode_timing(Timing((Window(1, 1 << 62),), 1 << 62)))
        bpf.map("lueur_params").update(0, params)
        buffer = ctypes.create_string_buffer(data, len(data))
        out = ctypes.create_string_buffer(len(data) + 256)
        opts = TestRunOpts(
            sz=ctypes.sizeof(TestRunOpts),
            data_in=ctypes.addressof(buffer),
            data_out=ctypes.addressof(out),
            data_size_in=len(data),
            data_size_out=len(out),
            repeat=repeat,
        )
        result = lib.bpf_prog_test_run_opts(bpf.program_fd(f"lueur_{kind}"), ctypes.byref(opts))
        if result != 0:
            raise OSError(-result, f"BPF_PROG_TEST_RUN {kind}")
        eligible = sum(bpf.map("lueur_counters").lookup_percpu_u64(2))
        return float(opts.duration), eligible / repeat
    finally:
        bpf.close()


def bulk_throughput(pair: Pair, seconds: float) -> float:
    """Bytes/s of one TCP stream client -> server."""
    listener = pair.socket_in(pair.server_ns)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((pair.server.address, PORT))
    listener.listen(1)
    received = [0]

    def sink() -> None:
        connection, _ = listener.accept()
        buffer = bytearray(1 << 20)
        while (n := connection.recv_into(buffer)) > 0:
            received[0] += n
        connection.close()

    thread = threading.Thread(target=sink)
    thread.start()
    client = pair.socket_in(pair.client_ns)
    client.connect((pair.server.address, PORT))
    chunk = b"\0" * (1 << 20)
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        client.sendall(chunk)
    client.close()
    thread.join()
    elapsed = time.monotonic() - start
    listener.close()
    return received[0] / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    udp = packet(17, b"\0" * 22, 40000, 9000)
    http = packet(6, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 8080, 40000)
    dns = packet(
        17, bytes.fromhex("12348180000100010000000003617069076578616d706c6504746573740000010001"), 53, 40000
    )
    zero = {
        "loss": (maps.LossParams(), udp),
        "blackhole": (maps.BlackholeParams(mode=1), udp),
        "police": (maps.PoliceParams(rate_bytes_per_s=10**9, burst_bytes=10**9), udp),
        "httperror": (maps.HttpErrorParams(), http),
        "dns": (maps.DnsParams(port=53), dns),
        "reset": (maps.ResetParams(), http),
    }
    print("1. per-packet program cost (BPF_PROG_TEST_RUN, in scope, active window, p=0)")
    cost_ns: dict[str, float] = {}
    for kind in KINDS:
        params, data = zero[kind]
        ns, reached = per_packet_ns(kind, data, params)
        cost_ns[kind] = ns
        print(
            f"   {kind:10} {ns:6.0f} ns/packet ({len(data)}-byte packet,"
            f" fault logic reached {100 * reached:.0f} %)"
        )

    attachers: dict[str, Callable[[Pair], EbpfFault]] = {
        "loss p=0": lambda p: attach_loss(
            p.client, "egress", 0.0, scope=Scope.peer(p.server.address, hook="egress")
        ),
        "blackhole off-scope": lambda p: attach_blackhole(
            p.client, "egress", scope=Scope.peer("192.0.2.1", hook="egress")
        ),
        "police 100 GB/s": lambda p: attach_police(p.client, "egress", 10**11, 10**9),
        "httperror p=0": lambda p: attach_httperror(p.client, "egress", 503, 0.0),
        "dns p=0": lambda p: attach_dns(p.client, "egress", "nxdomain", 0.0),
        "reset p=0": lambda p: attach_reset(p.client, "egress", 0.0),
    }
    print(
        f"\n2. TCP bulk throughput over a veth: {args.runs} alternating pairs of {args.seconds:g} s runs"
        " without and with the program (checksum offload on);\n   the median of the pair ratios cancels"
        " the machine's drift; program CPU = packets/s seen x cost per packet from 1."
    )
    with namespace_pair(checksum_offload=True) as pair:
        for label, attach in attachers.items():
            ratios, bare, loaded = [], [], []
            packets_per_s = []
            for _ in range(args.runs):
                without = bulk_throughput(pair, args.seconds)
                fault = attach(pair)
                try:
                    with_program = bulk_throughput(pair, args.seconds)
                    packets_per_s.append(fault.counters().seen / args.seconds)
                finally:
                    fault.revert()
                bare.append(without)
                loaded.append(with_program)
                ratios.append(with_program / without)
            cost, rate = cost_ns[label.split()[0]], statistics.median(packets_per_s)
            print(
                f"   {label:20} {statistics.median(bare) / 2**20:6.0f}"
                f" -> {statistics.median(loaded) / 2**20:6.0f}"
                f" MiB/s, ratio median {100 * statistics.median(ratios):5.1f} %"
                f" (min {100 * min(ratios):5.1f}, max {100 * max(ratios):5.1f});"
                f" program CPU ~{100 * cost * rate / 1e9:.2f} % of a core"
                f" ({rate:.0f} packets/s x {cost:.0f} ns)"
            )

        print("\n3. map update latency (lueur_timing, 16 windows, through ctypes)")
        fault = attach_loss(pair.client, "egress", 0.0)
        try:
            timing = maps.encode_timing(Timing(tuple(Window(i + 1, i + 2) for i in range(16)), 1 << 62))
            timing_map = fault._bpf.map("lueur_timing")  # noqa: SLF001 - a benchmark may look inside
            samples = []
            for _ in range(20000):
                start = time.perf_counter_ns()
                timing_map.update(0, timing)
                samples.append(time.perf_counter_ns() - start)
            samples.sort()
            print(
                f"   p50 {samples[len(samples) // 2] / 1000:.1f} us,"
                f" p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} us,"
                f" max {samples[-1] / 1000:.1f} us"
            )
        finally:
            fault.revert()


if __name__ == "__main__":
    main()
