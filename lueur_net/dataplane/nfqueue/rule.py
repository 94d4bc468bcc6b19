"""The iptables NFQUEUE rule that sends a path's arriving packets to our holder, and its ledger remover.

The rule sits in the mangle table's PREROUTING chain of the namespace that RECEIVES the traffic, matched on the
interface the packets arrive on (`-i IF`) plus the optional address/port scope, so it sees packets before any
DNAT and whether they are delivered locally or forwarded. Where only the sending end may be changed (an attached
pod whose peer is the host's), the rule sits in the sender's OUTPUT chain on the leaving interface (`-o IF`): it
works, but holding a sender's own packets slows bulk TCP (machine-facts.md), so it is the second choice. `--queue-bypass` lets packets through untouched when no
holder is bound (a crashed holder never blackholes the path). Each rule carries a comment `lueur-<run>-q<N>`.
Commands run as `nsenter --net=PATH iptables ...` (nsenter keeps /sys, unlike `ip netns exec`); netns None means
the host namespace.
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.enter import NETNS_RUN_DIR
from lueur_net.ledger import remover

TABLE = "mangle"
CHAIN = "PREROUTING"
LEAVING_CHAIN = "OUTPUT"
RULE_KIND = "iptables_rule"
# What iptables says when the rule (or its table or chain) to delete is not there: nothing left to remove.
ABSENT = ("does a matching rule exist", "No chain/target/match by that name", "does not exist")
QUEUE_RANGE = (20000, 65000)


def namespace_path(netns: str | None) -> str | None:
    if netns is None:
        return None
    return netns if "/" in netns else str(NETNS_RUN_DIR / netns)


def iptables(netns: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [*_in_netns(netns), "iptables", "-w", *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as error:
        raise EnvironmentProblem(f"{error.filename} not found (Debian package iptables / util-linux)",
                                 hint="run sudo ./setup.sh") from error
    if check and result.returncode != 0:
        where = f"namespace {netns}" if netns else "the host namespace"
        raise EnvironmentProblem(f"iptables {' '.join(args)} in {where} failed: {result.stderr.strip()}")
    return result


# Bits of the packet mark our rules may own, one per rule in a namespace (see `allocate_mark_bits`).
MARK_BITS = tuple(1 << bit for bit in range(16, 31))


def rule_args(ifname: str, match_args: list[str], queue: int, comment: str, mark_bit: int, *,
              leaving: bool = False) -> list[str]:
    return ["-o" if leaving else "-i", ifname, *match_args, "-m", "mark", "!", "--mark", f"{mark_bit:#x}/{mark_bit:#x}",
            "-m", "comment", "--comment", comment, "-j", "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]


def mark_bits_used(save: str) -> set[int]:
    """The mark bits lueur rules in an `iptables-save` text already own."""
    return {int(value, 16) for line in save.splitlines() if "lueur-" in line
            for value in re.findall(r"--mark (0x[0-9a-f]+)/", line)}


def allocate_mark_bits(save: str, count: int, netns: str | None = None) -> list[int]:
    """`count` distinct mark bits no lueur rule in the namespace (its `iptables-save` text) uses yet, lowest first.

    Why marks: a queue verdict ACCEPT ends the packet's walk through the chain, so a second delay rule on the
    same interface (two latency faults, latency + jitter) would never see it. The holder instead sets its rule's
    bit and answers REPEAT: the packet walks the chain again, skips every rule whose bit it carries, and meets
    the next one. Bits 16-30 of the mark are used; lab namespaces have no other mark users.

    One call hands out the bits of every delay started together (a plan's holders start side by side): each
    reading the rules on its own would see the same free bits and two rules could share one, so the second would
    never see a packet. Deterministic (lowest free first), so a plan's bits are the same on every run.
    """
    used = mark_bits_used(save)
    free = [bit for bit in MARK_BITS if bit not in used]
    if len(free) < count:
        raise EnvironmentProblem(f"more than {len(MARK_BITS)} nfqueue delays on one namespace "
                                 f"({netns or 'host'}): no packet-mark bit left")
    return free[:count]


@dataclass(frozen=True)
class RuleAllocation:
    """What backend.prepare hands one delay of a plan, from one `iptables-save` per namespace: its own mark bit,
    and that text, where the delay's start looks up the queue numbers rules already name (queue_candidates)."""

    mark_bit: int
    save: str


def mark_bit_for(netns: str | None, save: str | None = None) -> int:
    """A mark bit no lueur rule in the namespace uses yet (one delay started alone; see `allocate_mark_bits`)."""
    save = iptables_save(netns) if save is None else save
    return allocate_mark_bits(save, 1, netns)[0]


def _in_netns(netns: str | None) -> list[str]:
    """The command prefix that runs a command in `netns` (nsenter keeps /sys, unlike `ip netns exec`)."""
    path = namespace_path(netns)
    return ["nsenter", f"--net={path}"] if path else []


def iptables_save(netns: str | None) -> str:
    """The namespace's rules; read once per delay started and handed to mark_bit_for and queue_candidates."""
    return subprocess.run([*_in_netns(netns), "iptables-save"], capture_output=True, text=True, timeout=60).stdout


def queues_in_use(netns: str | None, save: str | None = None) -> set[int]:
    """Queue numbers named by any NFQUEUE rule in the namespace (ours from other runs, or anyone's)."""
    save = iptables_save(netns) if save is None else save
    used = {int(number) for number in re.findall(r"--queue-num (\d+)", save)}
    for low, high in re.findall(r"--queue-balance (\d+):(\d+)", save):
        used.update(range(int(low), int(high) + 1))
    return used


def queue_candidates(netns: str | None, count: int = 64, save: str | None = None) -> list[int]:
    """Queue numbers to try, from a random start in QUEUE_RANGE, skipping those rules already name.

    Queue numbers are per network namespace; the holder still binds the first one nobody holds (binding a queue
    another process holds fails), so two runs never share one.
    """
    used = queues_in_use(netns, save)
    low, high = QUEUE_RANGE
    start = random.randrange(low, high)
    candidates = []
    for offset in range(high - low):
        number = low + (start - low + offset) % (high - low)
        if number not in used:
            candidates.append(number)
            if len(candidates) == count:
                break
    return candidates


def add_rule(netns: str | None, args: list[str], chain: str = CHAIN) -> None:
    iptables(netns, "-t", TABLE, "-I", chain, *args)


# The lines of an emptied table's listing (`nft list table`): its own, its chains' heads (their default policy,
# accept) and ends. Any other line (a rule, a set, a changed policy) is someone's.
_EMPTY_TABLE_LINE = re.compile(
    r"^\s*(table \S+ \S+ \{|chain \S+ \{|type \S+ hook \S+ priority \S+; policy accept;|\}|)\s*$")


def drop_table_if_empty(netns: str | None, table: str = TABLE) -> bool:
    """Delete iptables-nft's `ip <table>` in `netns` when it holds no rule (True when deleted).

    iptables-nft creates the table and the chain for a namespace's first rule and keeps both once the rule is
    gone; in a namespace that is not ours (an attached pod, `inject`), that is something left behind. Called only
    where our rule created the table; a rule anyone added since keeps it."""
    prefix = _in_netns(netns)
    try:
        listing = subprocess.run([*prefix, "nft", "list", "table", "ip", table], capture_output=True, text=True,
                                 timeout=60)
    except FileNotFoundError:  # no nft: iptables-legacy, whose tables are the kernel's own
        return False
    if listing.returncode != 0 or not all(_EMPTY_TABLE_LINE.match(line) for line in listing.stdout.splitlines()):
        return False
    return subprocess.run([*prefix, "nft", "delete", "table", "ip", table], capture_output=True, text=True,
                          timeout=60).returncode == 0


@remover(RULE_KIND)
def remove_rule(fields: dict[str, Any]) -> None:
    """fields: netns (None = host), table, chain, args, and drop_empty_table when our rule created the table
    (drop_table_if_empty). Tolerates a rule or namespace already gone."""
    netns = fields.get("netns")
    path = namespace_path(netns)
    if path and not Path(path).exists():
        return
    _remove_copies(fields)
    if fields.get("drop_empty_table"):
        drop_table_if_empty(netns, fields["table"])


def _remove_copies(fields: dict[str, Any]) -> None:
    netns = fields.get("netns")
    table, chain, args = fields["table"], fields["chain"], list(fields["args"])
    # -D until none is left (one process per copy and one more), rather than -C before each -D: a deletion is the
    # slow part (~15 ms, nf_tables' commit), a check ~2 ms, and a rule is normally there once.
    while True:
        result = iptables(netns, "-t", table, "-D", chain, *args, check=False)
        if result.returncode == 0:
            continue
        if any(words in result.stderr for words in ABSENT):
            return
        # Another refusal (arguments iptables cannot read, as for a rule whose insertion failed): an error only if
        # the rule is still there.
        if iptables(netns, "-t", table, "-C", chain, *args, check=False).returncode != 0:
            return
        where = f"namespace {netns}" if netns else "the host namespace"
        raise EnvironmentProblem(f"iptables -D {chain} in {where} failed: {result.stderr.strip()}")
