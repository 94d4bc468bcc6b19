"""Configured vs measured, through the real plan -> apply path (prints; asserts nothing).

- TBF bandwidth caps (host kernel and anywhere): goodput of a bulk TCP transfer, server -> client.
- netem (where sch_netem exists, e.g. inside the stock-kernel VM): one-way delay p50/p99 of UDP datagrams for
  several delays, the spread for a normal jitter, and loss rates.
Measured from outside lueur-net with sockets in each namespace (tests/kernel/netem/conftest.py).

    sudo .venv/bin/python benchmarks/bench_tc_fidelity.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path as FsPath
from typing import Any

sys.path.insert(0, str(FsPath(__file__).resolve().parent.parent / "tests" / "kernel" / "netem"))
from conftest import Pair, _permanent_neighbours, bulk, one_way  # noqa: E402

from lueur_net.dataplane.apply import apply_plan  # noqa: E402
from lueur_net.dataplane.probe import probe_capabilities  # noqa: E402
from lueur_net.lab.topology import Endpoint, Path  # noqa: E402
from lueur_net.ledger import Ledger  # noqa: E402
from lueur_net.plan import plan_item  # noqa: E402
from lueur_net.scenario import Item  # noqa: E402


@contextmanager
def veth_pair() -> Iterator[Pair]:
    from pyroute2 import IPRoute, netns

    tag = secrets.token_hex(3)
    names = (f"lueurbfc{tag}", f"lueurbfs{tag}")
    ifnames = (f"lueurc{tag}", f"lueurs{tag}")
    addresses = ("10.233.7.2", "10.233.7.1")
    for name in names:
        netns.create(name)
    try:
        with IPRoute(netns=names[0], flags=0) as ipr:
            ipr.link("add", ifname=ifnames[0], kind="veth", peer={"ifname": ifnames[1], "net_ns_fd": names[1]})
        endpoints = []
        for name, ifname, address in zip(names, ifnames, addresses):
            with IPRoute(netns=name, flags=0) as ipr:
                index = ipr.link_lookup(ifname=ifname)[0]
                ipr.addr("add", index=index, address=address, prefixlen=24)
                ipr.link("set", index=index, state="up")
                endpoints.append(Endpoint(name, ifname, index, address))
        _permanent_neighbours(tuple(zip(names, ifnames, addresses)))
        yield Pair(names[0], names[1], Path(client=endpoints[0], server=endpoints[1]))
    finally:
        for name in names:
            if name in netns.listnetns():
                netns.remove(name)


def item(*faults: dict[str, Any]) -> Item:
    return Item.model_validate({"call": {"method": "GET", "url": "http://10.0.0.1/"},
                                "context": {"faults": list(faults)}})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer points")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    capabilities = probe_capabilities()
    print(f"kernel {capabilities.kernel}; netem {'present' if capabilities.netem else 'absent'}")
    with tempfile.TemporaryDirectory() as run_dir, Ledger.open("bench", run_dir=FsPath(run_dir)) as ledger, \
            veth_pair() as pair:
        print("TBF bandwidth (bulk TCP server -> client, goodput first to last byte):")
        rates = (256, 1024) if args.quick else (128, 512, 1024, 4096, 16384)
        for kbps in rates:
            plan = plan_item(item({"type": "bandwidth", "rate": kbps, "unit": "KiBps", "side": "client",
                                   "direction": "ingress"}), capabilities)
            size = max(1 << 20, kbps * 1024 * 4)
            with apply_plan(plan, pair.path, ledger):
                measured = bulk(pair, size, port=47200 + kbps % 500)
            configured = kbps * 1024
            print(f"  configured {configured / 1024:8.0f} KiB/s  measured {measured / 1024:8.1f} KiB/s  "
                  f"({(measured / configured - 1) * 100:+.1f}%)")
        if not capabilities.netem:
            print("netem: absent on this kernel (run inside the stock-kernel VM for delay/loss fidelity)")
            return
        print("netem delay (one-way UDP, client egress):")
        for mean in (10, 50, 100, 200):
            plan = plan_item(item({"type": "latency", "mean": mean, "side": "client", "direction": "egress"}),
                             capabilities)
            with apply_plan(plan, pair.path, ledger):
                delays = [d for *_, d in one_way(pair, 100, 0.01) if d is not None]
            print(f"  configured {mean:4d} ms  p50 {statistics.median(delays):7.2f}  p99 {percentile(delays, .99):7.2f}")
        plan = plan_item(item({"type": "latency", "mean": 100, "stddev": 20, "side": "client",
                               "direction": "egress"}), capabilities)
        with apply_plan(plan, pair.path, ledger):
            delays = [d for *_, d in one_way(pair, 400, 0.005) if d is not None]
        print(f"  normal 100 +- 20 ms: mean {statistics.fmean(delays):.1f}  sd {statistics.pstdev(delays):.1f}")
        print("netem loss (3000 datagrams):")
        for rate in (0.01, 0.05, 0.1, 0.25):
            plan = plan_item(item({"type": "packetloss", "rate": rate, "side": "client", "direction": "egress"}),
                             capabilities)
            with apply_plan(plan, pair.path, ledger):
                samples = one_way(pair, 3000, 0.0005)
            lost = sum(1 for *_, d in samples if d is None) / len(samples)
            print(f"  configured {rate * 100:5.1f}%  measured {lost * 100:5.2f}%")


if __name__ == "__main__":
    main()
