"""The Pareto delay as netem's table samples it: where the table's 0 sits and what one table unit is, in units of
the scenario's `scale` (x_m). Pure math, no I/O.

It lives in the scenario layer, the lowest layer that needs it: the scenario's limit checks (checks.py) must refuse
a pareto latency whose centre or spread the kernel cannot hold, using exactly the numbers the planner later gives
netem and the nfqueue holder (plan/planner.py `delay_params`, plan/netem_tables.py `pareto_table`). Keeping one
definition here lets both import it downward (plan -> scenario), never scenario -> plan.

netem's tables hold TABLE_ENTRIES evenly spaced quantiles; iproute2's pareto.c samples u = (65536 - 16k) / 65536
for entry k, so the largest entry is the quantile at u = 16 / 65536.
"""

from __future__ import annotations

TABLE_ENTRIES = 4096  # entries in a netem distribution table (iproute2's *.dist files)


def pareto_quantile(k: int, shape: float) -> float:
    """Entry k's Pareto value in units of x_m: u^(-1/a) with u = (65536 - 16k) / 65536 (iproute2 pareto.c)."""
    u = (65536 - 16 * k) / 65536
    return float(u ** (-1.0 / shape))


def pareto_centre(shape: float) -> float:
    """Where the table's 0 sits, in units of x_m: the mean a/(a-1) (1.5 for a = 3), or 1 when the mean is infinite."""
    return shape / (shape - 1.0) if shape > 1.0 else 1.0


def pareto_spread(shape: float) -> float:
    """One table unit (8192) in units of x_m: 0.75 for a = 3 (iproute2); otherwise so the largest entry fits."""
    if shape == 3.0:
        return 0.75
    largest = pareto_quantile(TABLE_ENTRIES - 1, shape) - pareto_centre(shape)
    return max(largest / 3.999, 0.25)
