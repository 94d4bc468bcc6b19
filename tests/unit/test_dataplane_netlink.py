"""The data plane's one netlink toolkit without a kernel: error mapping, the clsact rule, the one remover registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyroute2.netlink.exceptions import NetlinkError

from lueur_net import ledger
from lueur_net.dataplane import netlink
from lueur_net.errors import EnvironmentProblem


class FakeQdisc(dict):  # type: ignore[type-arg]
    def get_attr(self, name: str) -> Any:
        return self.get(name)


class FakeSocket:
    """Answers like pyroute2's IPRoute for one interface (index 4, `veth0`); records what it is asked to do."""

    def __init__(self, clsact: bool = False, filters: dict[int, list[int]] | None = None) -> None:
        self.clsact = clsact
        self.filters = filters or {}  # parent -> priorities
        self.calls: list[tuple[Any, ...]] = []

    def link_lookup(self, ifname: str) -> list[int]:
        return [4] if ifname == "veth0" else []

    def get_qdiscs(self, index: int) -> list[FakeQdisc]:
        return [FakeQdisc(TCA_KIND="clsact")] if self.clsact else []

    def get_filters(self, index: int, parent: int) -> list[dict[str, int]]:
        return [{"info": prio << 16} for prio in self.filters.get(parent, [])]

    def tc(self, command: str, kind: str, **arguments: Any) -> None:
        self.calls.append((command, kind, arguments.get("index")))
        if command == "add" and kind == "clsact":
            self.clsact = True
        elif command == "del" and kind == "clsact":
            if not self.clsact:
                raise NetlinkError(22)
            self.clsact = False


def test_netlink_errors_give_one_line_naming_interface_object_and_errno() -> None:
    with pytest.raises(EnvironmentProblem) as raised, netlink.netlink_errors(
        "add netem qdisc 4c4e:", "lueur-c", "veth0", "modprobe sch_netem", hint_codes=(2,)
    ):
        raise NetlinkError(22)
    assert str(raised.value).splitlines()[0] == (
        "cannot add netem qdisc 4c4e: on veth0 (namespace lueur-c): Invalid argument (errno 22)"
    )
    assert raised.value.hint is None  # EINVAL is not among the codes that mean "module missing" here
    with pytest.raises(EnvironmentProblem) as raised, netlink.netlink_errors("add x", None, "eth0", "load it"):
        raise NetlinkError(2)
    assert "eth0 (host namespace)" in str(raised.value) and raised.value.hint == "load it"


def test_netlink_errors_for_removal_accept_an_object_already_gone() -> None:
    for code in netlink.GONE:
        with netlink.netlink_errors("delete x", None, "eth0", gone_ok=True):
            raise NetlinkError(code)
    with pytest.raises(EnvironmentProblem), netlink.netlink_errors("delete x", None, "eth0", gone_ok=True):
        raise NetlinkError(1)  # EPERM is not "gone"


def test_clsact_is_created_only_if_absent_and_recorded_first(tmp_path: Path) -> None:
    with ledger.Ledger.open("t", run_dir=tmp_path) as journal:
        present = FakeSocket(clsact=True)
        assert netlink.ensure_clsact(present, 4, "ns", "veth0", journal) == (False, None)
        assert present.calls == [] and journal.pending == 0
        absent = FakeSocket()
        created, entry = netlink.ensure_clsact(absent, 4, "ns", "veth0", journal)
        assert created and entry is not None and entry.kind == "tc_clsact"
        assert entry.fields == {"netns": "ns", "ifname": "veth0"}
        assert absent.calls == [("add", "clsact", 4)]
        assert netlink.ensure_clsact(FakeSocket(), 4, None, "veth0", None)[0]  # no ledger: still says it made it
        journal.done(entry)


@pytest.mark.parametrize("left", [{netlink.CLSACT_INGRESS: [49152]}, {netlink.CLSACT_EGRESS: [0xC100]}])
def test_clsact_is_released_only_when_no_filter_is_left(left: dict[int, list[int]]) -> None:
    busy = FakeSocket(clsact=True, filters=left)
    netlink.release_clsact({"netns": None, "ifname": "veth0"}, ipr=busy)
    assert busy.calls == [] and busy.clsact
    empty = FakeSocket(clsact=True)
    netlink.release_clsact({"netns": None, "ifname": "veth0"}, ipr=empty)
    assert empty.calls == [("del", "clsact", 4)] and not empty.clsact
    netlink.release_clsact({"netns": None, "ifname": "veth0"}, ipr=empty)  # already gone: nothing to do
    netlink.release_clsact({"netns": None, "ifname": "gone0"}, ipr=empty)  # interface gone too
    assert empty.calls == [("del", "clsact", 4)]


def test_one_remover_registry_for_every_netlink_kind() -> None:
    import importlib

    from lueur_net.dataplane.tc import ifb, qdisc

    ledger.load_removers()
    attach = importlib.import_module("lueur_net.dataplane.ebpf.attach")  # the package exports a function `attach`

    assert ledger.REMOVERS["tc_clsact"] is netlink.release_clsact
    assert ledger.REMOVERS["ebpf_clsact"] is netlink.release_clsact  # ledgers written by earlier versions
    assert ledger.REMOVERS["tc_filter"] is ifb.remove_tc_filter
    assert ledger.REMOVERS["tc_qdisc"] is qdisc.remove_tc_qdisc
    assert ledger.REMOVERS["ebpf_tc_filter"] is attach.remove_cls_bpf_filter


def test_remove_entry_lends_the_caller_s_socket(tmp_path: Path) -> None:
    sock = FakeSocket(clsact=True)
    ledger.remove_entry(ledger.Entry(1, "tc_clsact", {"netns": "lueur-gone", "ifname": "veth0"}), ipr=sock)
    assert sock.calls == [("del", "clsact", 4)]  # through the registry, on the lent socket, namespace not opened
