"""Time to apply and to remove a fault: lueur-net's netlink path vs the `tc` binary (and tcconfig where netem
exists). Prints; asserts nothing.

- Host kernel (no netem): a TBF shaping qdisc, ours (one live process, pyroute2 imported once) vs `tc qdisc
  replace/del` (one process per command, as a tool shelling out would run it).
- Where sch_netem exists (the stock-kernel VM: `sudo scripts/vm-tier benchmarks/bench_tc_control.py` does not apply,
  run it inside the VM or on a normal distribution kernel): also a netem delay, ours vs `tc` vs tcconfig's
  `tcset`/`tcdel` (PyPI tcconfig, which runs several `tc` commands and pays Python start-up per call).

    sudo .venv/bin/python benchmarks/bench_tc_control.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pyroute2 import IPRoute, netns

from lueur_net.dataplane.probe import probe_capabilities
from lueur_net.dataplane.netlink import FLAGS_DELETE, FLAGS_REPLACE, RTM_DELQDISC, RTM_NEWQDISC, TC_H_ROOT, request
from lueur_net.dataplane.tc.encode import qdisc_message
from lueur_net.dataplane.tc.netem import netem_values
from lueur_net.dataplane.tc.tbf import tbf_values
from lueur_net.plan import DelayParams, NetemConfig, rate_params
from timing import timed_ms

HANDLE = 0x4C4E0000



def show(label: str, add: list[float], remove: list[float]) -> None:
    print(f"  {label:<34} add p50 {statistics.median(add):8.3f} ms  p90 {sorted(add)[int(len(add) * .9)]:8.3f}"
          f"   remove p50 {statistics.median(remove):8.3f} ms  p90 {sorted(remove)[int(len(remove) * .9)]:8.3f}")


def pair_runs(repeat: int, add: Callable[[], object], remove: Callable[[], object]) -> tuple[list[float], list[float]]:
    adds, removes = [], []
    for _ in range(repeat):
        adds += timed_ms(add, 1)
        removes += timed_ms(remove, 1)
    return adds, removes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    capabilities = probe_capabilities()
    name = f"lueurbench{secrets.token_hex(3)}"
    netns.create(name)
    try:
        with IPRoute(netns=name, flags=0) as ipr:
            ipr.link("add", ifname="lueurb0", kind="veth", peer={"ifname": "lueurb1"})
            index = ipr.link_lookup(ifname="lueurb0")[0]
            ipr.link("set", index=index, state="up")
            print(f"kernel {capabilities.kernel}; {args.repeat} add/remove pairs on a veth in namespace {name}")
            kinds: list[tuple[str, dict, list[str]]] = [
                ("tbf", tbf_values(rate_params(512 * 1024)), ["tbf", "rate", "4385488bit", "burst", "3028",
                                                               "limit", "112666"]),
            ]
            if capabilities.netem:
                kinds.append(("netem", netem_values(NetemConfig(delay=DelayParams(delay_ns=100_000_000,
                                                                                   jitter_ns=10_000_000))),
                              ["netem", "delay", "100ms", "10ms"]))
            for kind, options, tc_args in kinds:
                print(f"{kind}:")

                def ours_add() -> None:
                    request(ipr, qdisc_message(kind, index, HANDLE, TC_H_ROOT, options), RTM_NEWQDISC,
                            FLAGS_REPLACE)

                def ours_remove() -> None:
                    request(ipr, qdisc_message(kind, index, HANDLE, TC_H_ROOT, None), RTM_DELQDISC, FLAGS_DELETE)

                show("lueur-net (netlink, live process)", *pair_runs(args.repeat, ours_add, ours_remove))
                tc = ["tc", "-n", name, "qdisc"]
                show("tc binary", *pair_runs(
                    args.repeat,
                    lambda: subprocess.run([*tc, "replace", "dev", "lueurb0", "root", "handle", "4c4e:", *tc_args],
                                           check=True),
                    lambda: subprocess.run([*tc, "del", "dev", "lueurb0", "root"], check=True)))
                tcset = Path(sys.executable).parent / "tcset"
                if kind == "netem" and tcset.exists() and shutil.which("ip"):
                    tcdel = str(Path(sys.executable).parent / "tcdel")
                    runs = max(3, args.repeat // 10)
                    show(f"tcconfig tcset/tcdel ({runs} runs)", *pair_runs(
                        runs,
                        lambda: subprocess.run(["ip", "netns", "exec", name, str(tcset), "lueurb0", "--delay",
                                                "100ms", "--delay-distro", "10ms", "--overwrite"], check=True,
                                               capture_output=True),
                        lambda: subprocess.run(["ip", "netns", "exec", name, tcdel, "lueurb0", "--all"],
                                               check=True, capture_output=True)))
                elif kind == "netem":
                    print("  tcconfig: not installed (pip install 'lueur-net[bench]')")
            if not capabilities.netem:
                print("netem: not on this kernel; run this benchmark where sch_netem exists to compare with tcconfig")
    finally:
        netns.remove(name)


if __name__ == "__main__":
    main()
