"""lueur_net.runner: `lueur-net run` and `run --dry-run`, the top of the run's data flow (DESIGN.md).

    execute(RunOptions(paths=...), listener) -> RunOutcome        the run (root); refuses before touching
    dry_run(paths, only, attach=, serve=, iface=) -> str          the plans and their tc/ip commands

Inside: `run` orchestrates (load, probe, plan, lab, items in order, results), `plans` makes each plan once
(per item, placement and iteration), `item` applies one item's faults and drives its calls, `environment` is
everything that touches the machine (injectable: tests/unit/runner runs the orchestration on fakes), `outputs`
checks and prepares the output files, `listener` is what the CLI's display implements, `timings` counts the
phases (`run --timings`), `later_imports` imports pandas and the results beside the lab's set-up (not before the
run starts).
"""

from lueur_net.runner.dryrun import MEANING, dry_run
from lueur_net.runner.environment import RunEnvironment, kernel_environment
from lueur_net.runner.item import DEADLINE_MARGIN_S, START_MARGIN_S, ItemFaults, fault_deadline_ns, warn_untouched
from lueur_net.runner.listener import RunListener
from lueur_net.runner.outputs import check_writable
from lueur_net.runner.run import RunOptions, RunOutcome, execute, select

__all__ = [
    "DEADLINE_MARGIN_S",
    "MEANING",
    "START_MARGIN_S",
    "ItemFaults",
    "RunEnvironment",
    "RunListener",
    "RunOptions",
    "RunOutcome",
    "check_writable",
    "dry_run",
    "execute",
    "fault_deadline_ns",
    "kernel_environment",
    "select",
    "warn_untouched",
]
