"""Capabilities are the plan's input data: defined in the plan layer, filled by the data plane's probe."""

from __future__ import annotations

import typing

from capability_sets import HOST_LACKS, host_like
from lueur_net.dataplane import probe
from lueur_net.plan import Capabilities, backend_table
from lueur_net.plan.capabilities import feature_names


def test_the_probe_returns_the_plan_s_capabilities() -> None:
    assert Capabilities.__module__ == "lueur_net.plan.capabilities"
    assert typing.get_type_hints(probe.probe_capabilities)["return"] is Capabilities


def test_test_fixtures_are_not_production_code() -> None:
    assert not hasattr(Capabilities, "host_like")
    host = host_like()
    assert host.missing() == [name for name in feature_names() if name in HOST_LACKS]
    assert backend_table(host)["latency"] == "nfqueue" and backend_table(host)["packetloss"] == "ebpf"


def test_with_features_and_to_dict() -> None:
    stock = Capabilities.all_present()
    assert stock.missing() == []
    without = stock.with_features(netem=False)
    assert without.missing() == ["netem"] and stock.netem
    assert without.to_dict()["qdiscs"]["netem"] is False
