"""The nfqueue delay backend on Debian's stock kernel: nfnetlink_queue and xt_NFQUEUE load on demand, delay works.

The host tier measures nfqueue's fidelity precisely; here it only has to work on an ordinary distribution kernel
(the product's target), with TCG's slowness allowed for (+30 ms).
"""

from __future__ import annotations

import os
import random
import socket
import struct
import subprocess
import time
from pathlib import Path

from lueur_net.dataplane.nfqueue import DelaySpec, Match, start_delay
from lueur_net.lab.enter import setns
from lueur_net.ledger import Ledger

MS = 1_000_000


def udp_socket_in(netns: str) -> socket.socket:
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(Path("/run/netns") / netns)
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    finally:
        setns(Path(f"/proc/self/fd/{home}"))
        os.close(home)


def test_nfqueue_delays_on_the_stock_kernel(tmp_path: Path) -> None:
    tag = random.randrange(10**6)
    client, server = f"lueur-knqc-{tag}", f"lueur-knqs-{tag}"
    for ns in (client, server):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", client, "link", "add", "lueurkq0", "type", "veth", "peer", "name", "lueurkq1",
                        "netns", server], check=True)
        for ns, ifname, address in ((client, "lueurkq0", "10.233.1.1"), (server, "lueurkq1", "10.233.1.2")):
            subprocess.run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", ifname], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", ifname, "up"], check=True)
        receiver, sender = udp_socket_in(server), udp_socket_in(client)
        receiver.bind(("10.233.1.2", 0))
        receiver.settimeout(5)
        with Ledger.open("test-nfqueue-kernel", run_dir=tmp_path) as ledger:
            with start_delay(server, "lueurkq1", DelaySpec(mean_ns=100 * MS), ledger,
                             match=Match(protocol="udp")) as delay:
                one_way = []
                for _ in range(15):
                    sender.sendto(struct.pack("!q", time.monotonic_ns()), receiver.getsockname())
                    data = receiver.recv(64)
                    one_way.append((time.monotonic_ns() - struct.unpack("!q", data)[0]) / MS)
                counters = delay.counters()
        receiver.close()
        sender.close()
    finally:
        for ns in (client, server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    one_way.sort()
    assert 100 <= one_way[len(one_way) // 2] <= 130, one_way
    assert counters["affected"] == 15
    assert "nfnetlink_queue" in Path("/proc/modules").read_text()
