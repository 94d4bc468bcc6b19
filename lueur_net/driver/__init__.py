"""lueur_net.driver: runs a scenario item's HTTP calls (single, repeat, open-loop load) and records each one.

Public API: `ItemSpec` and its parts, `drive_item(spec) -> list[CallRecord]`, `drive(spec) -> ItemRun`,
`drive_in_netns(netns, spec, on_progress=, on_iteration=) -> ItemRun`.
See docs/driver.md. Importing this package does not import pydantic or pandas.
"""

from lueur_net.driver.drive import ItemRun, drive, drive_item
from lueur_net.driver.remote import drive_in_netns
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
