"""lueur_net.scenario: the lueur scenario format, read into frozen pydantic models with units resolved.

Public API (everything else in this package is private):

    load(paths) -> list[LoadedScenario]      files, directories; raises ScenarioError (a BadInput) with every problem
    check(paths) -> (list[LoadedScenario], list[Problem])   the same without raising on file errors
    loads(text, source="<string>") -> list[LoadedScenario]
    json_schema() -> dict                    generated from the same models that validate

Models: Scenario, Item, Call, CallMeta, Context, Expect, Slo, Config, HttpConfig, HttpPaths,
Strategy = SingleStrategy | RepeatStrategy | LoadStrategy, Fault = LatencyFault | JitterFault | BandwidthFault |
PacketLossFault | BlackholeFault | HttpErrorFault | DnsFault | ResetFault | PoliceFault | DuplicateFault |
CorruptFault | ReorderFault (all subclasses of FaultBase), Period, TimePoint, Window. See docs/scenario.md.
"""

from __future__ import annotations

from lueur_net.scenario.faults import (
    DEFAULT_DIRECTION,
    DEFAULT_PACKET_LOSS,
    DEFAULT_SIDE,
    FAULT_MODELS,
    FAULT_TYPES,
    BandwidthFault,
    BlackholeFault,
    CorruptFault,
    Direction,
    DnsFault,
    DuplicateFault,
    Fault,
    FaultBase,
    HttpErrorFault,
    JitterFault,
    LatencyFault,
    PacketLossFault,
    PoliceFault,
    ReorderFault,
    ResetFault,
    Side,
)
from lueur_net.scenario.models import (
    DEFAULT_CALL_TIMEOUT_MS,
    HTTP_METHODS,
    STRATEGY_MODES,
    Call,
    CallMeta,
    Config,
    Context,
    Expect,
    HttpConfig,
    HttpPaths,
    Item,
    LoadStrategy,
    RepeatStrategy,
    Scenario,
    SingleStrategy,
    Slo,
    Strategy,
)
from lueur_net.scenario.loader import LoadedScenario, check, load, loads
from lueur_net.scenario.periods import Period, TimePoint, Window
from lueur_net.scenario.problems import Problem, ScenarioError
from lueur_net.scenario.schema import json_schema

__all__ = [
    "LoadedScenario",
    "Problem",
    "ScenarioError",
    "check",
    "json_schema",
    "load",
    "loads",
    "DEFAULT_CALL_TIMEOUT_MS",
    "DEFAULT_DIRECTION",
    "DEFAULT_PACKET_LOSS",
    "DEFAULT_SIDE",
    "FAULT_MODELS",
    "FAULT_TYPES",
    "HTTP_METHODS",
    "STRATEGY_MODES",
    "BandwidthFault",
    "BlackholeFault",
    "Call",
    "CallMeta",
    "Config",
    "Context",
    "CorruptFault",
    "Direction",
    "DnsFault",
    "DuplicateFault",
    "Expect",
    "Fault",
    "FaultBase",
    "HttpConfig",
    "HttpErrorFault",
    "HttpPaths",
    "Item",
    "JitterFault",
    "LatencyFault",
    "LoadStrategy",
    "PacketLossFault",
    "Period",
    "PoliceFault",
    "ReorderFault",
    "RepeatStrategy",
    "ResetFault",
    "Scenario",
    "Side",
    "SingleStrategy",
    "Slo",
    "Strategy",
    "TimePoint",
    "Window",
]
