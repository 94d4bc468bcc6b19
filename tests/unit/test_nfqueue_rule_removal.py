"""An nfqueue rule's removal: `iptables -D` until iptables says the rule is not there (each deletion is the slow
part, ~15 ms of nf_tables' commit; a `-C` before each one added two processes per rule for nothing)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from lueur_net.dataplane.nfqueue import rule
from lueur_net.errors import EnvironmentProblem

pytestmark = pytest.mark.unit

ABSENT = "iptables: Bad rule (does a matching rule exist in that chain?).\n"
FIELDS = {"netns": None, "table": "mangle", "chain": "PREROUTING", "args": ["-i", "s0", "-j", "NFQUEUE"]}


def fake_iptables(copies: int, failure: str = ABSENT) -> tuple[list[tuple[str, ...]], Any]:
    ran: list[tuple[str, ...]] = []
    left = [copies]

    def iptables(netns: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        ran.append(args)
        if left[0] > 0:
            left[0] -= 1
            return subprocess.CompletedProcess(args, 0, "", "")
        return subprocess.CompletedProcess(args, 1, "", failure)

    return ran, iptables


@pytest.mark.parametrize("copies", [0, 1, 2])
def test_every_copy_goes_with_one_process_each_and_one_more(monkeypatch: pytest.MonkeyPatch, copies: int) -> None:
    ran, iptables = fake_iptables(copies)
    monkeypatch.setattr(rule, "iptables", iptables)
    rule.remove_rule(FIELDS)
    assert ran == [("-t", "mangle", "-D", "PREROUTING", "-i", "s0", "-j", "NFQUEUE")] * (copies + 1)


def test_a_deletion_refused_for_another_reason_is_an_error_while_the_rule_is_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, ...]] = []

    def iptables(netns: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        ran.append(args[2:3])
        if args[2] == "-C":
            return subprocess.CompletedProcess(args, 0, "", "")  # still there
        return subprocess.CompletedProcess(args, 4, "", "iptables: Resource temporarily unavailable.\n")

    monkeypatch.setattr(rule, "iptables", iptables)
    with pytest.raises(EnvironmentProblem, match="iptables -D PREROUTING in the host namespace failed: .*Resource"):
        rule.remove_rule(FIELDS)
    assert ran == [("-D",), ("-C",)]


def test_a_rule_iptables_cannot_even_read_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule whose insertion failed (an address iptables refuses) is removed as a matter of course: nothing to do."""
    ran, iptables = fake_iptables(0, "iptables v1.8.9 (nf_tables): host/network `not-an-address' not found\n")
    monkeypatch.setattr(rule, "iptables", iptables)
    rule.remove_rule(FIELDS)
    assert [args[2] for args in ran] == ["-D", "-C"]


def test_a_namespace_already_gone_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    ran, iptables = fake_iptables(1)
    monkeypatch.setattr(rule, "iptables", iptables)
    rule.remove_rule({**FIELDS, "netns": "/run/netns/lueur-no-such-namespace"})
    assert ran == []


EMPTIED = """table ip mangle {
\tchain PREROUTING {
\t\ttype filter hook prerouting priority mangle; policy accept;
\t}
}
"""


@pytest.mark.parametrize(("listing", "deleted"), [
    (EMPTIED, True),
    (EMPTIED.replace("policy accept;\n", "policy accept;\n\t\tiifname \"x\" counter packets 0 bytes 0 accept\n"),
     False),  # someone's rule
    (EMPTIED.replace("policy accept", "policy drop"), False),  # someone changed the policy
])
def test_an_emptied_table_we_created_goes_and_anything_else_keeps_it(monkeypatch: pytest.MonkeyPatch, listing: str,
                                                                    deleted: bool) -> None:
    ran: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, listing if "list" in command else "", "")

    monkeypatch.setattr(rule.subprocess, "run", run)
    assert rule.drop_table_if_empty("lueur-pod") is deleted
    assert ran[0][-4:] == ["list", "table", "ip", "mangle"] and ran[0][:2] == ["nsenter", "--net=/run/netns/lueur-pod"]
    assert (ran[-1][-4:] == ["delete", "table", "ip", "mangle"]) is deleted


def test_the_table_is_tidied_only_when_the_rule_record_says_it_created_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _, iptables = fake_iptables(1)
    monkeypatch.setattr(rule, "iptables", iptables)
    tidied: list[str | None] = []
    monkeypatch.setattr(rule, "drop_table_if_empty", lambda netns, table: tidied.append(netns) or True)
    rule.remove_rule(FIELDS)
    assert tidied == []
    _, iptables = fake_iptables(1)
    monkeypatch.setattr(rule, "iptables", iptables)
    rule.remove_rule({**FIELDS, "drop_empty_table": True})
    assert tidied == [None]
