"""eBPF loss fidelity: configured vs measured loss over several rates (Bernoulli), and the Gilbert-Elliott
model's measured loss and mean burst vs its stationary values. Printed, not asserted.

UDP datagrams go from a client namespace to a server namespace over a veth; the loss program sits on the
client's egress; the receiver has a 32 MiB buffer (SO_RCVBUFFORCE) so bursts are not mistaken for loss.

    sudo .venv/bin/python benchmarks/bench_ebpf_loss.py [--count 20000] [--rates 0.01,0.05,0.1,0.25,0.5]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

for _helpers in ("tests", "tests/host/ebpf"):  # the tests' namespace pair and traffic helpers
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / _helpers))
from ebpf_lab import namespace_pair  # noqa: E402
from ebpf_traffic import receive_numbers, send_numbered, udp_receiver, udp_sender  # noqa: E402

from lueur_net.dataplane.ebpf import GilbertElliott, Scope, attach_loss  # noqa: E402

PORT = 9600


def lost_numbers(pair, count: int, **loss: object) -> tuple[list[int], int]:  # type: ignore[no-untyped-def]
    receiver = udp_receiver(pair.server_ns, pair.server.address, PORT)
    sender = udp_sender(pair.client_ns)
    scope = Scope.peer(pair.server.address, protocol="udp", hook="egress")
    with attach_loss(pair.client, "egress", scope=scope, **loss) as fault:  # type: ignore[arg-type]
        send_numbered(sender, (pair.server.address, PORT), count)
        received = receive_numbers(receiver)
        affected = fault.counters().affected
    receiver.close()
    sender.close()
    return sorted(set(range(count)) - received), affected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rates", default="0.01,0.05,0.1,0.25,0.5")
    args = parser.parse_args()
    with namespace_pair() as pair:
        print(f"Bernoulli loss, {args.count} datagrams per rate")
        print(f"{'configured':>10} {'measured':>9} {'z':>6} {'counted':>8}")
        for rate in (float(r) for r in args.rates.split(",")):
            lost, affected = lost_numbers(pair, args.count, probability=rate)
            measured = len(lost) / args.count
            sigma = math.sqrt(rate * (1 - rate) / args.count)
            z = (measured - rate) / sigma if sigma else 0.0
            print(f"{rate:>10.3f} {measured:>9.4f} {z:>6.2f} {affected == len(lost)!s:>8}")
        print("\nGilbert-Elliott (loss_bad=1, loss_good=0)")
        print(f"{'p':>6} {'r':>6} {'stationary':>10} {'measured':>9} {'burst exp':>9} {'burst':>6}")
        for p, r in ((0.01, 0.5), (0.02, 0.25), (0.05, 0.1)):
            lost, _ = lost_numbers(pair, args.count, gilbert_elliott=GilbertElliott(p, r))
            bursts = 1 + sum(1 for a, b in zip(lost, lost[1:]) if b != a + 1) if lost else 0
            print(
                f"{p:>6.2f} {r:>6.2f} {p / (p + r):>10.4f} {len(lost) / args.count:>9.4f} {1 / r:>9.1f}"
                f" {len(lost) / max(bursts, 1):>6.2f}"
            )


if __name__ == "__main__":
    main()
