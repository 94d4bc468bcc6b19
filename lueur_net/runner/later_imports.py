"""The run's imports that no kernel change waits for, made in a thread beside the run's first waits.

pandas, the results document, the analysis and the reports are needed once the first item's calls are over, and
took 0.55-0.75 s of the command's start (`python -X importtime`, lueur_net.runner importing lueur_net.results;
pandas alone ~0.5 s). `run` now imports them in a thread (`start()`) beside the
lab's netlink and nft work and the app's start (after validate/plan: parsing would only share the interpreter
with them), instead of before the run begins.

A fork whose child runs Python must not happen while the thread is halfway through an import: the child would
inherit a module lock held by a thread that does not exist in it, and hang on its first import of that module.
The run's driver is such a fork (the first one after the lab is up): the run calls wait() before it, as it joins
the driver's own warm-up. The app's start (subprocess with a preexec_fn that imports nothing) and subprocesses
that exec at once are not concerned. Code that needs one of these modules simply imports it: Python makes a second
importer wait for the first.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence

# In the order they are needed; each pulls in what it imports (pandas, pyarrow, numpy, analysis.stats, ...).
MODULES: tuple[str, ...] = (
    "pandas",
    "lueur_net.records.frame",
    "lueur_net.results",
)
# What `run`'s reports need (lueur_net.analysis.reports: findings, renderers, the LLM client; ~0.25 s): imported
# once the last item's calls are over (no driver forks after that), beside the last revert and results.json.
REPORT_MODULES: tuple[str, ...] = ("lueur_net.analysis.reports",)

_thread: threading.Thread | None = None


def _import_all(names: Sequence[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: whoever needs the module imports it and sees the error
            return


def start(names: Sequence[str] = MODULES) -> threading.Thread:
    """Import `names` in a daemon thread (wait() before forking a child that runs Python)."""
    global _thread
    wait()
    _thread = threading.Thread(target=_import_all, args=(tuple(names),), name="lueur-later-imports", daemon=True)
    _thread.start()
    return _thread


def wait() -> None:
    """Until the thread's imports are done (nothing to wait for when none runs, or from the thread itself)."""
    thread = _thread
    if thread is not None and thread is not threading.current_thread() and thread.is_alive():
        thread.join()

