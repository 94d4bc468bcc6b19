"""lueur_net.driver: runs a scenario item's HTTP calls (single, repeat, open-loop load) and records each one.

Public API: `ItemSpec` and its parts, `drive_item(spec) -> list[CallRecord]`, `drive(spec) -> ItemRun`,
`drive_in_netns(netns, spec, on_progress=, on_iteration=) -> ItemRun`.
See docs/driver.md. Importing this package (or `spec`, `build`) imports neither pydantic nor pandas, nor the HTTP
clients and the event loop: `drive`, `drive_item`, `ItemRun` (lueur_net.driver.driving) and `drive_in_netns`
(lueur_net.driver.remote) are imported when first used (PEP 562). `run` plans with ItemSpec before its lab is up
and imports those (httpx: ~0.06 s) in a thread beside the app's start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lueur_net.driver.spec import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_TIMEOUT_S,
    CallSpec,
    Expect,
    FaultWindow,
    ItemSpec,
    LoadSpec,
    RepeatSpec,
)
from lueur_net.records.call import CallRecord

if TYPE_CHECKING:
    from lueur_net.driver.driving import ItemRun, drive, drive_item
    from lueur_net.driver.remote import drive_in_netns

_DEFINED_IN = {"ItemRun": "lueur_net.driver.driving", "drive": "lueur_net.driver.driving",
               "drive_item": "lueur_net.driver.driving", "drive_in_netns": "lueur_net.driver.remote"}


def __getattr__(name: str) -> Any:
    """The public names of the driver's process side, imported on first use."""
    module = _DEFINED_IN.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT_S",
    "CallRecord",
    "CallSpec",
    "Expect",
    "FaultWindow",
    "ItemRun",
    "ItemSpec",
    "LoadSpec",
    "RepeatSpec",
    "drive",
    "drive_in_netns",
    "drive_item",
]
