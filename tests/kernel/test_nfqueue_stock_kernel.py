"""The nfqueue delay backend on Debian's stock kernel: nfnetlink_queue and xt_NFQUEUE load on demand, delay works.

The host tier measures nfqueue's fidelity precisely; here it only has to work on an ordinary distribution kernel
(the product's target), with TCG's slowness allowed for (+30 ms).
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

from lueur_net.dataplane.nfqueue import DelaySpec, Match, start_delay
from lueur_net.ledger import Ledger
from netns_pair import namespace_pair

MS = 1_000_000


def test_nfqueue_delays_on_the_stock_kernel(tmp_path: Path) -> None:
    with namespace_pair("knq") as pair:
        receiver = pair.socket_in(pair.server_ns, socket.SOCK_DGRAM)
        sender = pair.socket_in(pair.client_ns, socket.SOCK_DGRAM)
        receiver.bind((pair.server_addr, 0))
        receiver.settimeout(5)
        with Ledger.open("test-nfqueue-kernel", run_dir=tmp_path) as ledger:
            with start_delay(pair.server_ns, pair.server_if, DelaySpec(mean_ns=100 * MS), ledger,
                             match=Match(protocol="udp")) as delay:
                one_way = []
                for _ in range(15):
                    sender.sendto(struct.pack("!q", time.monotonic_ns()), receiver.getsockname())
                    data = receiver.recv(64)
                    one_way.append((time.monotonic_ns() - struct.unpack("!q", data)[0]) / MS)
                counters = delay.counters()
        receiver.close()
        sender.close()
    one_way.sort()
    assert 100 <= one_way[len(one_way) // 2] <= 130, one_way
    assert counters["affected"] == 15
    assert "nfnetlink_queue" in Path("/proc/modules").read_text()
