"""Fault models: lueur's seven fault types plus lueur-net's kernel extensions, one frozen model per `type`.

All durations are resolved to milliseconds (float), probabilities to 0..1 floats, rates to bytes per second.
Every fault has `side` (client|server, default server as in lueur), `direction` (ingress|egress|both, default
ingress as in lueur) and `period` (zero, one or several windows; none = active for the whole call or run).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    computed_field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lueur_net.scenario import limits, periods, units
from lueur_net.scenario.periods import Period
from lueur_net.scenario.types import (
    NonNegativeDelayMs,
    PositiveDelayMs,
    PositiveInt,
    PositiveNumber,
    Probability,
    SpreadMs,
    StatusCode,
)

ParetoShape = Annotated[
    PositiveNumber,
    *limits.within(limits.MIN_PARETO_SHAPE, limits.MAX_PARETO_SHAPE, "",
                   "the 4096-entry table spans scale to scale x 4096^(1/shape): below 0.1 that overflows every "
                   "delay field, above 1000 every entry is the scale"),
]
# The pareto scale is a bare number of milliseconds (lueur's), so it is a number, not a duration string.
ParetoScaleMs = Annotated[PositiveNumber, *limits.within(None, limits.MAX_DELAY_MS, " ms", limits.WHY_DELAY)]
JitterHz = Annotated[
    PositiveNumber,
    *limits.within(limits.MIN_JITTER_HZ, limits.MAX_JITTER_HZ, " Hz",
                   "the backends redraw the delay in userspace, at most 200 times a second and at least once "
                   "in 1000 s"),
]
PoliceBurst = Annotated[
    PositiveInt,
    *limits.within(1500, limits.MAX_POLICE_BURST, " bytes",
                   "the bucket must hold one full packet, and the eBPF policer adds up to 10 s of refill to it in "
                   "a u64 (capped like TBF's u32 burst)"),
]
Gap = Annotated[PositiveInt, *limits.within(None, limits.MAX_GAP, "", "netem's gap is a u32")]

Side = Literal["client", "server"]
Direction = Literal["ingress", "egress", "both"]
ByteRateUnit = Literal["Bps", "KBps", "MBps", "GBps", "KiBps", "MiBps", "GiBps"]

DEFAULT_SIDE: Side = "server"
DEFAULT_DIRECTION: Direction = "ingress"
DEFAULT_PACKET_LOSS = 0.05  # lueur's generator titles its packet-loss scenario "5% packet loss"

# lueur's defaults for a parameter left out (docs/scenario.md "Defaults" says where each one comes from).
# Latency: lueur's scenario reader (`FaultConfiguration::build`: mean 100, stddev 20, min/max/shape/scale 20).
LATENCY_DEFAULTS: dict[str, float] = {"mean": 100.0, "stddev": 20.0, "min": 20.0, "max": 20.0, "shape": 20.0,
                                      "scale": 20.0}
# The parameters each distribution draws from; only those are filled in (the others stay empty in the model).
LATENCY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "stddev"),
    "uniform": ("min", "max"),
    "pareto": ("shape", "scale"),
    "pareto-normal": ("mean", "stddev", "shape", "scale"),
}
# Jitter, bandwidth, dns: lueur's command-line defaults (FAULT_JITTER_AMPLITUDE=20.0, FAULT_JITTER_FREQ=5.0,
# FAULT_BANDWIDTH_RATE=1000, FAULT_BANDWIDTH_UNIT=bps, FAULT_DNS_PROBABILITY=0.5); its scenario reader has none.
DEFAULT_JITTER_AMPLITUDE_MS = 20.0
DEFAULT_JITTER_FREQUENCY_HZ = 5.0
DEFAULT_BANDWIDTH_RATE = 1000.0
DEFAULT_BANDWIDTH_UNIT = "Bps"
DEFAULT_DNS_PROBABILITY = 0.5

PeriodList = Annotated[
    tuple[Annotated[Period, BeforeValidator(periods.parse_period)], ...],
    BeforeValidator(periods.as_period_list),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": periods.PERIOD_PATTERN},
                {"type": "array", "items": {"type": "string", "pattern": periods.PERIOD_PATTERN}},
                {"type": "null"},
            ],
            "description": "'start:<t>,duration:<t>' (t: '2s', '500ms', a bare number of seconds, or '10%'); "
            "several windows separated by ';'; or a list of such strings.",
        }
    ),
]


class FaultBase(BaseModel):
    """What every fault has: where it applies (`side`, `direction`) and when (`period`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    side: Side = Field(
        default=DEFAULT_SIDE,
        description="lueur's segment: client (client <-> proxy) or server (proxy <-> upstream; the default).",
    )
    direction: Direction = Field(
        default=DEFAULT_DIRECTION,
        description="Seen from lueur's proxy: ingress (what it reads from that side; the default), egress (what it "
        "writes to it) or both. server ingress and client egress hit the responses, server egress and client "
        "ingress the requests.",
    )
    period: PeriodList = Field(default=(), description="Active windows; none = active the whole time.")

    @property
    def directions(self) -> tuple[Literal["ingress", "egress"], ...]:
        """The hooks this fault applies to ('both' expanded)."""
        return ("ingress", "egress") if self.direction == "both" else (self.direction,)  # type: ignore[return-value]


class LatencyFault(FaultBase):
    """Delay: `mean`/`stddev` ms (normal), `min`/`max` ms (uniform), `shape`/`scale` (pareto, pareto-normal).

    A parameter the distribution draws from and the file leaves out gets lueur's default (LATENCY_DEFAULTS); the
    parameters the distribution does not use stay as written (usually empty).
    """

    type: Literal["latency"]
    mean: PositiveDelayMs | None = Field(
        default=None, description="Mean delay, ms (default 100: normal, pareto-normal)."
    )
    stddev: SpreadMs | None = Field(
        default=None, description="Standard deviation, ms (default 20: normal, pareto-normal); at most 2147.48 ms, "
        "netem's s32 sigma."
    )
    distribution: Literal["uniform", "normal", "pareto", "pareto-normal"] = "normal"
    min: NonNegativeDelayMs | None = Field(default=None, description="Uniform lower bound, ms (default 20).")
    max: PositiveDelayMs | None = Field(default=None, description="Uniform upper bound, ms (default 20).")
    shape: ParetoShape | None = Field(default=None, description="Pareto shape (alpha), 0.1..1000 (default 20).")
    scale: ParetoScaleMs | None = Field(default=None, description="Pareto scale (x_m), ms (default 20).")
    global_: StrictBool = Field(
        default=True, alias="global", description="lueur: apply once per connection (true) or per read (false)."
    )

    @model_validator(mode="before")
    @classmethod
    def _lueur_defaults(cls, data: Any) -> Any:
        # Filled before validation, on a copy, so that `scenario show` and the planner see the value used.
        if not isinstance(data, dict):
            return data
        distribution = data.get("distribution", "normal")
        if not isinstance(distribution, str) or distribution not in LATENCY_PARAMETERS:
            return data  # the literal check names the bad distribution
        filled = dict(data)
        for name in LATENCY_PARAMETERS[distribution]:
            if filled.get(name) is None:
                filled[name] = LATENCY_DEFAULTS[name]
        return filled

    @model_validator(mode="after")
    def _parameters_fit_distribution(self) -> LatencyFault:
        if self.min is not None and self.max is not None and self.min >= self.max:
            # lueur fills a missing bound with 20 ms and its uniform sampler refuses min >= max, so neither
            # bound alone can be left out unless the other one is on the right side of 20 ms.
            raise PydanticCustomError(
                "latency_parameters",
                "min ({min} ms) must be below max ({max} ms){hint}",
                {"min": f"{self.min:g}", "max": f"{self.max:g}",
                 "hint": "; lueur's default for a bound left out is 20 ms" if self.distribution == "uniform" else ""},
            )
        return self

    def with_step(self, increase_ms: float) -> LatencyFault:
        """This fault with `mean` raised by `increase_ms` (the repeat strategy's `step x iteration`)."""
        return self.model_copy(update={"mean": (self.mean or 0.0) + increase_ms})


class JitterFault(FaultBase):
    """Variable delay of up to `amplitude` ms, changing `frequency` times per second."""

    type: Literal["jitter"]
    amplitude: PositiveDelayMs = Field(
        default=DEFAULT_JITTER_AMPLITUDE_MS, description="Maximum added delay, ms (20)."
    )
    frequency: JitterHz = Field(
        default=DEFAULT_JITTER_FREQUENCY_HZ,
        description="How often the delay changes, Hz (5; 0.001..200: the backends redraw it in userspace).",
    )


_UNIT_DESCRIPTION = (
    "Bytes per second: Bps, KBps, MBps, GBps (decimal, as lueur: 1 KBps = 1000 B/s), or KiBps, MiBps, GiBps "
    "(binary, lueur-net's extension: 1 KiBps = 1024 B/s)."
)


class _RateMixin(BaseModel):
    rate: PositiveNumber = Field(description="Rate in `unit`.")
    unit: ByteRateUnit = Field(default="Bps", description=_UNIT_DESCRIPTION)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bytes_per_second(self) -> float:
        """`rate` resolved to bytes per second."""
        return self.rate * units.BYTE_RATE_UNITS[self.unit]


class BandwidthFault(FaultBase, _RateMixin):
    """Shape traffic to `rate` `unit` (queueing, not dropping)."""

    type: Literal["bandwidth"]
    rate: PositiveNumber = Field(default=DEFAULT_BANDWIDTH_RATE, description="Rate in `unit` (default 1000).")
    unit: ByteRateUnit = Field(default=DEFAULT_BANDWIDTH_UNIT, description=_UNIT_DESCRIPTION + " Default Bps.")


class PoliceFault(FaultBase, _RateMixin):
    """Police traffic to `rate` `unit` with a `burst` bucket (bytes): packets above the rate are dropped."""

    type: Literal["police"]
    burst: PoliceBurst | None = Field(
        default=None,
        description="Bucket size in bytes, at least one full packet, at most 4 GiB - 1 (default: see burst_bytes).",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def burst_bytes(self) -> int:
        """`burst`, or by default 10 ms worth of the rate but at least 256 KiB.

        A smaller bucket collapses TCP: with segmentation offload one "packet" is up to 64 KiB, and a bucket
        that cannot hold a few of them drops whole bursts (measured: 64 KiB at 512 KiB/s gives 30 KiB/s).
        """
        if self.burst is not None:
            return self.burst
        return max(256 * 1024, int(self.bytes_per_second / 100))


class PacketLossFault(FaultBase):
    """Drop packets: independently (`rate`, `correlation`) or in bursts (`model: gilbert-elliott`).

    With no `rate` (lueur has no knob), 5% of packets are lost. Gilbert-Elliott: a good and a bad state; `p` is
    the chance per packet to go good->bad, `r` bad->good (default 1), `loss_bad` ("1-h", default 1) and
    `loss_good` ("1-k", default 0) the loss probability in each state, as in netem's `loss gemodel p r 1-h 1-k`.
    """

    type: Literal["packetloss"]
    rate: Probability | None = Field(
        default=None,
        validation_alias=AliasChoices("rate", "probability"),
        description="Loss probability 0..1 (alias `probability`; default 0.05).",
    )
    correlation: Probability = Field(default=0.0, description="Dependence on the previous packet, 0..1.")
    model: Literal["random", "gilbert-elliott"] = "random"
    p: Probability | None = Field(default=None, description="Gilbert-Elliott: good->bad transition probability.")
    r: Probability | None = Field(default=None, description="Gilbert-Elliott: bad->good transition probability (1).")
    loss_bad: Probability | None = Field(
        default=None, validation_alias=AliasChoices("loss_bad", "1-h"), description="Loss in the bad state (1)."
    )
    loss_good: Probability | None = Field(
        default=None, validation_alias=AliasChoices("loss_good", "1-k"), description="Loss in the good state (0)."
    )

    @model_validator(mode="after")
    def _parameters_fit_model(self) -> PacketLossFault:
        state_keys = [name for name in ("p", "r", "loss_bad", "loss_good") if getattr(self, name) is not None]
        if self.model == "random" and state_keys:
            raise PydanticCustomError(
                "packetloss_parameters",
                "{keys} only apply to 'model: gilbert-elliott'",
                {"keys": ", ".join(f"'{key}'" for key in state_keys)},
            )
        if self.model == "gilbert-elliott":
            if self.p is None:
                raise PydanticCustomError("packetloss_parameters", "'model: gilbert-elliott' needs 'p'")
            if self.rate is not None or self.correlation:
                raise PydanticCustomError(
                    "packetloss_parameters",
                    "'rate' and 'correlation' do not apply to 'model: gilbert-elliott' (use p, r, loss_bad, loss_good)",
                )
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def loss_probability(self) -> float:
        """The long-run share of packets lost (the default 0.05, `rate`, or the Gilbert-Elliott stationary loss)."""
        if self.model == "random":
            return DEFAULT_PACKET_LOSS if self.rate is None else self.rate
        p, r = self.p or 0.0, self.gilbert_elliott[1]
        bad_share = p / (p + r) if p + r > 0 else 0.0
        return bad_share * self.gilbert_elliott[2] + (1 - bad_share) * self.gilbert_elliott[3]

    @property
    def gilbert_elliott(self) -> tuple[float, float, float, float]:
        """(p, r, loss_bad, loss_good) with the defaults filled in."""
        return (
            self.p or 0.0,
            1.0 if self.r is None else self.r,
            1.0 if self.loss_bad is None else self.loss_bad,
            0.0 if self.loss_good is None else self.loss_good,
        )


class BlackholeFault(FaultBase):
    """Drop every packet (on the chosen side and direction, during its periods).

    `only` narrows it: `new` drops only connection attempts (SYNs: connects time out, open connections go on),
    `established` only packets after the handshake (connects succeed, then silence).
    """

    type: Literal["blackhole"]
    only: Literal["all", "new", "established"] = Field(
        default="all", description="all packets (default), only new connections, or only established ones."
    )


class HttpErrorFault(FaultBase):
    """Answer with `status_code` (and `body`) instead of the upstream, for a share `probability` of responses."""

    type: Literal["httperror"]
    status_code: StatusCode = Field(default=500, description="HTTP status 100..599 (default 500).")
    body: StrictStr | None = Field(default=None, description="Response body (default: none).")
    probability: Probability = Field(default=1.0, description="Share of responses affected, 0..1 (default 1).")


DNS_KIND_SPELLINGS = {"nx-domain": "nxdomain", "serv-fail": "servfail", "drop": "timeout"}


def _dns_kind(value: object) -> object:
    # lueur's later versions spell them "nx-domain", "serv-fail"; "drop" is what a timeout does on the wire.
    return DNS_KIND_SPELLINGS.get(value, value) if isinstance(value, str) else value


class DnsFault(FaultBase):
    """Fail name resolution: answer NXDOMAIN, SERVFAIL, REFUSED, or drop the query (timeout)."""

    type: Literal["dns"]
    kind: Annotated[
        Literal["nxdomain", "servfail", "refused", "timeout"],
        BeforeValidator(_dns_kind),
        WithJsonSchema({"enum": ["nxdomain", "servfail", "refused", "timeout", *DNS_KIND_SPELLINGS]}),
    ] = Field(
        default="nxdomain", description="nxdomain (default), servfail, refused, timeout (drop; alias 'drop')."
    )
    probability: Probability = Field(
        default=DEFAULT_DNS_PROBABILITY,
        validation_alias=AliasChoices("probability", "rate"),
        description="Share of queries affected, 0..1 (alias `rate` as in lueur; default 0.5, lueur's).",
    )


class ResetFault(FaultBase):
    """Reset TCP connections (RST) for a share `probability` of packets."""

    type: Literal["reset"]
    probability: Probability = Field(default=1.0, description="0..1 (default 1).")


class DuplicateFault(FaultBase):
    """Send a share `probability` of packets twice."""

    type: Literal["duplicate"]
    probability: Probability = Field(description="0..1.")
    correlation: Probability = Field(default=0.0, description="0..1.")


class CorruptFault(FaultBase):
    """Flip a random bit in a share `probability` of packets."""

    type: Literal["corrupt"]
    probability: Probability = Field(description="0..1.")
    correlation: Probability = Field(default=0.0, description="0..1.")


class ReorderFault(FaultBase):
    """Send a share `probability` of packets at once while the rest are delayed: needs a latency fault on the
    same side and direction (netem reorders by letting packets skip the delay). `gap`: reorder every gap-th packet.
    """

    type: Literal["reorder"]
    probability: Probability = Field(description="0..1.")
    correlation: Probability = Field(default=0.0, description="0..1.")
    gap: Gap | None = Field(
        default=None, description="Reorder every gap-th packet (netem 'gap', a u32)."
    )


Fault = Annotated[
    Union[
        LatencyFault,
        JitterFault,
        BandwidthFault,
        PacketLossFault,
        BlackholeFault,
        HttpErrorFault,
        DnsFault,
        ResetFault,
        PoliceFault,
        DuplicateFault,
        CorruptFault,
        ReorderFault,
    ],
    Discriminator("type"),
]

FAULT_MODELS: dict[str, type[FaultBase]] = {
    "latency": LatencyFault,
    "jitter": JitterFault,
    "bandwidth": BandwidthFault,
    "packetloss": PacketLossFault,
    "blackhole": BlackholeFault,
    "httperror": HttpErrorFault,
    "dns": DnsFault,
    "reset": ResetFault,
    "police": PoliceFault,
    "duplicate": DuplicateFault,
    "corrupt": CorruptFault,
    "reorder": ReorderFault,
}
FAULT_TYPES: tuple[str, ...] = tuple(FAULT_MODELS)


def fault_hooks(fault: Any) -> set[tuple[str, str]]:
    """The (side, direction) hooks a fault sits on, 'both' expanded."""
    return {(fault.side, direction) for direction in fault.directions}
