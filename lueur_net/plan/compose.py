"""How tc faults on one hook compose, over time. Pure.

The hook's timeline is cut at every window edge; in each segment the active faults become one HookConfig:
- latencies add: mu = sum of means; sigma = sqrt(sum of sigma^2) (independent delays); one distribution if they
  agree, else normal; clamps (min/max) and correlation kept only for a single latency;
- random losses combine as 1 - prod(1 - p) (independent drops), correlation = the largest; a blackhole on netem is
  100% loss; a Gilbert-Elliott loss cannot share a netem with another loss (netem has one loss model);
- duplicate, corrupt, reorder: one netem each (probabilities combine like losses);
- bandwidth caps: the smallest rate wins;
- jitter faults: kept as step-wise extra delay (the tc scheduler redraws it `frequency` times per second);
- order of qdiscs: netem at the root (handle 4c4e:), TBF as its child (handle 4c4f:, parent 4c4e:1). Packets are delayed
  (and dropped, duplicated...) first, then shaped; so the delay adds to the queueing the cap causes, as on a slow
  link behind a long path.
"""

from __future__ import annotations

import math

from lueur_net.errors import BadInput
from lueur_net.plan.model import (
    BlackholeParams,
    DelayParams,
    HookConfig,
    HookPlan,
    JitterParams,
    LossParams,
    NetemConfig,
    PlannedFault,
    ProbabilityParams,
    RateParams,
    Segment,
)


def compose_hooks(faults: list[PlannedFault]) -> tuple[HookPlan, ...]:
    """One HookPlan per (side, hook) that carries tc faults, in a stable order."""
    groups: dict[tuple[str, str], list[PlannedFault]] = {}
    for fault in faults:
        if fault.backend in ("netem", "tbf"):
            groups.setdefault((fault.side, fault.hook), []).append(fault)
    plans = []
    for (side, hook), members in sorted(groups.items()):
        plans.append(
            HookPlan(side=side, hook=hook, fault_ids=tuple(f.id for f in members),  # type: ignore[arg-type]
                     segments=segments(members))
        )
    return tuple(plans)


def edges(faults: list[PlannedFault]) -> list[float]:
    points = {0.0}
    for fault in faults:
        for window in fault.windows:
            points.add(window.start_s)
            if window.end_s is not None:
                points.add(window.end_s)
    return sorted(points)


def segments(faults: list[PlannedFault]) -> tuple[Segment, ...]:
    """The hook's timeline: consecutive segments with the same active faults are merged."""
    cuts = edges(faults)
    result: list[Segment] = []
    for position, start in enumerate(cuts):
        end = cuts[position + 1] if position + 1 < len(cuts) else None
        active = tuple(fault for fault in faults if fault.active(start))
        ids = tuple(fault.id for fault in active)
        if result and result[-1].fault_ids == ids:
            previous = result[-1]
            result[-1] = Segment(previous.start_s, end, ids, previous.config)
            continue
        result.append(Segment(start, end, ids, compose(list(active))))
    return tuple(result)


def _either(probabilities: list[float]) -> float:
    remaining = 1.0
    for probability in probabilities:
        remaining *= 1.0 - probability
    return 1.0 - remaining


def compose_delays(delays: list[DelayParams]) -> DelayParams | None:
    if not delays:
        return None
    if len(delays) == 1:
        return delays[0]
    spread = [d for d in delays if d.jitter_ns > 0]
    distributions = {d.distribution for d in spread}
    distribution = distributions.pop() if len(distributions) == 1 else "normal"
    shapes = {d.pareto_shape for d in spread} or {3.0}
    return DelayParams(
        delay_ns=sum(d.delay_ns for d in delays),
        jitter_ns=round(math.sqrt(sum(d.jitter_ns**2 for d in spread))),
        distribution=distribution if spread else "uniform",  # type: ignore[arg-type]
        pareto_shape=shapes.pop() if len(shapes) == 1 else 3.0,
    )


def compose_losses(losses: list[LossParams], ids: list[str]) -> LossParams | None:
    if not losses:
        return None
    if len(losses) == 1:
        return losses[0]
    if any(loss.model != "random" for loss in losses):
        raise BadInput(
            f"faults {', '.join(ids)} put a Gilbert-Elliott loss and another loss on the same hook at the same time; "
            "netem has one loss model per qdisc: give them different sides, directions or periods"
        )
    return LossParams(model="random", probability=_either([loss.probability for loss in losses]),
                      correlation=max(loss.correlation for loss in losses))


def _combine(items: list[ProbabilityParams]) -> ProbabilityParams | None:
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return ProbabilityParams(probability=_either([i.probability for i in items]),
                             correlation=max(i.correlation for i in items), gap=max(i.gap for i in items))


def compose(active: list[PlannedFault]) -> HookConfig:
    """The qdisc configuration for a set of simultaneously active tc faults on one hook."""
    delays: list[DelayParams] = []
    losses: list[LossParams] = []
    loss_ids: list[str] = []
    kinds: dict[str, list[ProbabilityParams]] = {"duplicate": [], "corrupt": [], "reorder": []}
    rates: list[RateParams] = []
    jitters: list[JitterParams] = []
    for fault in active:
        params = fault.params
        if isinstance(params, DelayParams):
            delays.append(params)
        elif isinstance(params, JitterParams):
            jitters.append(params)
        elif isinstance(params, LossParams):
            losses.append(params)
            loss_ids.append(fault.id)
        elif isinstance(params, BlackholeParams):
            losses.append(LossParams(model="random", probability=1.0))
            loss_ids.append(fault.id)
        elif isinstance(params, RateParams):
            rates.append(params)
        elif isinstance(params, ProbabilityParams):
            kinds[fault.type].append(params)
    netem_parts = delays or losses or jitters or any(kinds.values())
    netem = None
    if netem_parts:
        netem = NetemConfig(
            delay=compose_delays(delays),
            loss=compose_losses(losses, loss_ids),
            duplicate=_combine(kinds["duplicate"]),
            corrupt=_combine(kinds["corrupt"]),
            reorder=_combine(kinds["reorder"]),
        )
    tbf = min(rates, key=lambda rate: rate.wire_rate_bytes_per_s) if rates else None
    return HookConfig(netem=netem, tbf=tbf, jitter=tuple(jitters))
