"""The live status line and `inject list`'s line: faults, whether each is in a window now, counters, time left."""

from __future__ import annotations

from lueur_net.inject.hold import Status
from lueur_net.inject.status import describe


def test_status_line_shows_faults_windows_counters_and_time_left() -> None:
    status = Status("ab12cd", "web", "eth0", 12.0, 48.4, [
        {"id": "f0", "type": "latency", "hook": "ingress", "backend": "nfqueue", "active": True,
         "counters": {"packets": 10, "affected": 7}},
        {"id": "f1", "type": "packetloss", "hook": "egress", "backend": "ebpf", "active": False, "counters": {}},
    ])
    assert status.line() == ("inject ab12cd web eth0: f0 latency ingress on (affected 7); "
                             "f1 packetloss egress off | 48s left")
    assert Status("ab12cd", "web", "eth0", 1.0, None, []).line().endswith("| until Ctrl-C")


def test_list_line() -> None:
    entry = {"run_id": "ab12cd", "pid": 42, "target": "pid:42", "iface": "eth0",
             "faults": ["f0 latency ingress (nfqueue)"], "ends": 1000.0}
    assert describe(entry, now=970.0) == "ab12cd  pid 42  pid:42 (eth0)  f0 latency ingress (nfqueue)  30s left"
    assert describe({**entry, "ends": None}, now=0).endswith("until stopped")
