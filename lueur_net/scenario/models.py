"""The scenario models: Scenario -> Item -> (Call, Context -> faults/strategy/SLOs, Expect).

All models are frozen pydantic v2 models that forbid unknown keys. Units are resolved on validation:
milliseconds stay milliseconds (call timeout, latency, `response_time_under`, repeat `step` and `wait`, latency SLO
thresholds), the load duration is in seconds, probabilities are 0..1 floats. See docs/scenario.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator,
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

from lueur_net.scenario import limits, units, urls
from lueur_net.scenario.faults import Fault, FaultBase
from lueur_net.scenario.periods import Window
from lueur_net.scenario.types import (
    NonNegativeDelayMs,
    NonNegativeNumber,
    PositiveInt,
    PositiveNumber,
    RunSeconds,
    StatusCode,
    Text,
    TimeoutMs,
)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT")
URL_SCHEMES = urls.URL_SCHEMES
# A single call or a repeat has no duration of its own; percentage periods refer to the call's timeout, and to
# this when the call has none. The driver uses the same value as its default call timeout.
DEFAULT_CALL_TIMEOUT_MS = 30_000.0

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _method(value: object) -> object:
    if not isinstance(value, str):
        return value
    upper = value.strip().upper()
    if upper not in HTTP_METHODS:
        raise PydanticCustomError(
            "http_method",
            "unknown HTTP method '{method}'{hint} (methods: {valid})",
            {"method": value, "hint": units.did_you_mean(upper, HTTP_METHODS), "valid": ", ".join(HTTP_METHODS)},
        )
    return upper


def _url(value: str) -> str:
    # {param} placeholders (config.http.paths.segments) may sit anywhere; check the URL with them filled in (with
    # the scenario's values too: checks.py). Every problem says "URL '<url>' <why>".
    written = value.strip()
    filled = _PLACEHOLDER.sub("x", written)
    problem = urls.url_problem(filled)
    if problem == "has no scheme":
        problem = f"has no scheme; write e.g. 'http://{written}'"
    if problem is not None:
        raise PydanticCustomError("url", "URL '{url}' {why}", {"url": written, "why": problem})
    return written


def _refusing(problem_of: Callable[[str], str | None], kind: str, message: str) -> AfterValidator:
    """A validator refusing a value `problem_of` finds a problem with; `message` may name {value} and {why}."""

    def check(value: str) -> str:
        problem = problem_of(value)
        if problem is not None:
            raise PydanticCustomError(kind, message, {"value": value, "why": problem})
        return value

    return AfterValidator(check)


Url = Annotated[StrictStr, AfterValidator(_url)]
# A segment's value is pasted into URLs as written: a character no URL may hold is refused here, at the value.
Segment = Annotated[Text, _refusing(urls.bad_character, "url", "segment value contains {why}")]
# A CR/LF would split the request (h11 then fails every call); non-ASCII fails httpx's encoding of the request.
Headers = dict[
    Annotated[StrictStr, _refusing(urls.header_name_problem, "header", "header name '{value}' {why}")],
    Annotated[Text, _refusing(urls.header_value_problem, "header", "header value {why}")],
]


def _any_case(word: str) -> str:
    # JSON Schema patterns (ECMA 262) have no case-insensitive flag: spell each letter as a class.
    return "".join(f"[{char.upper()}{char.lower()}]" for char in word)


HttpMethod = Annotated[
    StrictStr,
    BeforeValidator(_method),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*({'|'.join(_any_case(method) for method in HTTP_METHODS)})\s*$",
            "description": "HTTP method, any case (upper-cased on reading).",
        }
    ),
]


class CallMeta(_Model):
    """lueur's `meta`: the OpenAPI operation the call was generated from."""

    operation_id: StrictStr | None = None


class Call(_Model):
    """One HTTP request: `timeout` in ms (None: DEFAULT_CALL_TIMEOUT_MS), `headers` merged over config headers."""

    method: HttpMethod = Field(description="HTTP method, upper-cased on reading.")
    url: Url = Field(description="http(s) URL; {name} placeholders come from config.http.paths.segments.")
    headers: Headers = Field(default_factory=dict)
    body: StrictStr | None = None
    timeout: TimeoutMs | None = Field(default=None, description="Call timeout, ms (at most an hour).")
    meta: CallMeta | None = None

    @property
    def timeout_ms(self) -> float:
        """The timeout to use: `timeout`, or DEFAULT_CALL_TIMEOUT_MS."""
        return DEFAULT_CALL_TIMEOUT_MS if self.timeout is None else self.timeout


class Expect(_Model):
    """What each call must show. Under `load` it applies to every call (lueur ignores it there)."""

    status: StatusCode | None = Field(default=None, description="Expected HTTP status 100..599.")
    response_time_under: TimeoutMs | None = Field(default=None, description="Upper bound, ms (at most an hour).")
    all_slo_are_valid: StrictBool | None = Field(default=None, description="Require every SLO of the item to pass.")


class Slo(_Model):
    """A service-level objective over the item's calls.

    latency: `objective` is the percentile (e.g. 95.0), `threshold` ms. error: `objective` is the success share in
    percent (e.g. 99.0), `threshold` the allowed percent of failed calls.
    """

    slo_type: Literal["latency", "error"] = Field(validation_alias=AliasChoices("slo_type", "type"))
    title: StrictStr
    objective: NonNegativeNumber = Field(le=100, description="latency: percentile; error: success objective, %.")
    threshold: NonNegativeNumber = Field(description="latency: ms; error: percent of failed calls.")

    @model_validator(mode="after")
    def _threshold_fits_type(self) -> Slo:
        if self.slo_type == "latency" and self.threshold <= 0:
            raise PydanticCustomError("slo", "a latency SLO threshold (ms) must be greater than 0")
        if self.slo_type == "latency" and self.threshold > limits.MAX_TIMEOUT_MS:
            raise PydanticCustomError(
                "slo", "a latency SLO threshold of {value} ms is above the limit of {limit} ms: {why}",
                {"value": limits.shown(self.threshold), "limit": limits.shown(limits.MAX_TIMEOUT_MS),
                 "why": limits.WHY_TIMEOUT},
            )
        if self.slo_type == "error" and self.threshold > 100:
            raise PydanticCustomError("slo", "an error SLO threshold is a percentage, at most 100")
        if self.objective <= 0:
            raise PydanticCustomError("slo", "objective must be greater than 0")
        return self


RepeatCount = Annotated[
    PositiveInt,
    *limits.within(None, limits.MAX_REPEAT_COUNT, "",
                   "a repeat re-applies its faults before every call; 10000 calls already take hours"),
]
Clients = Annotated[
    PositiveInt,
    *limits.within(None, limits.MAX_CLIENTS, "", "the load keeps one HTTP client per virtual client"),
]
Rps = Annotated[
    PositiveNumber,
    *limits.within(limits.MIN_RPS, limits.MAX_LOAD_CALLS, " rps",
                   "below one call in 1000 s the schedule's interval means nothing; above, the load would exceed "
                   "1000000 calls"),
]


class SingleStrategy(_Model):
    """One call (lueur writes `strategy: null` or leaves it out)."""

    mode: Literal["single"] = "single"


class RepeatStrategy(_Model):
    """`count` calls one after another; each adds `step` ms to the latency faults' mean (step x iteration)."""

    mode: Literal["repeat"]
    step: NonNegativeDelayMs = Field(default=0.0, description="Latency mean increase per iteration, ms.")
    count: RepeatCount
    failfast: StrictBool = False
    wait: NonNegativeDelayMs = Field(default=0.0, description="Pause between calls, ms.")
    add_baseline_call: StrictBool = Field(default=False, description="First one call with no fault.")


class LoadStrategy(_Model):
    """`clients` concurrent clients, each sending `rps` requests per second, for `duration` seconds."""

    mode: Literal["load"]
    duration: RunSeconds = Field(description="Seconds ('10s', '1m'; a bare number is seconds); at most a day.")
    clients: Clients
    rps: Rps = Field(description="Requests per second per client (clients x rps x duration: at most 1000000 calls).")

    @property
    def total_calls(self) -> int:
        """How many calls the load sends (the driver's ceil(clients x rps x duration))."""
        return math.ceil(self.clients * self.rps * self.duration)


def _strategy_or_single(value: object) -> object:
    return {"mode": "single"} if value is None else value


Strategy = Annotated[
    Union[SingleStrategy, RepeatStrategy, LoadStrategy],
    Discriminator("mode"),
    BeforeValidator(_strategy_or_single),
]
STRATEGY_MODES = ("single", "repeat", "load")


class ProxySettings(_Model):
    """lueur's `context.proxy`: turn its HTTP proxy off, and start TCP proxies for `proxies` mappings.

    Both keys are required, as in lueur. lueur-net has no proxy, so neither changes anything here (a warning says so).
    """

    disable_http_proxies: StrictBool = Field(description="lueur: do not start the HTTP proxy for this item.")
    proxies: tuple[StrictStr, ...] = Field(description="lueur: TCP proxy mappings ('port=host:port').")


class KubernetesRunsOn(_Model):
    """lueur's `context.runs_on` (platform kubernetes): lueur deploys its proxy in front of `service` in namespace
    `ns` (image `image`, default ghcr.io/rebound-how/fault:latest), runs the item through it, then rolls back.

    lueur-net reads it and does not act on it (a warning says so): it runs the item in its own lab.
    """

    platform: Literal["kubernetes"]
    ns: StrictStr = Field(description="Kubernetes namespace of the service.")
    service: StrictStr = Field(description="Name of the Kubernetes service lueur routes through its proxy.")
    image: StrictStr | None = Field(default=None, description="Image of lueur's proxy.")


# lueur's only platform; a plain model (not a tagged union) until there is a second one.
RunsOn = KubernetesRunsOn


class Context(_Model):
    """Where and how the faults apply: `upstreams` (URLs whose traffic is faulted), `faults`, `strategy`, `slo`.

    `proxy` and `runs_on` are lueur's keys, accepted and reported as having no effect here (checks.py).
    """

    upstreams: tuple[Url, ...] = ()
    faults: tuple[Fault, ...] = Field(
        default=(), max_length=limits.MAX_FAULTS_PER_ITEM,
        description=f"At most {limits.MAX_FAULTS_PER_ITEM} faults (each is one or more kernel objects).",
    )
    strategy: Strategy = Field(default_factory=SingleStrategy)
    slo: tuple[Slo, ...] = ()
    proxy: ProxySettings | None = None
    runs_on: RunsOn | None = None


class Item(_Model):
    """One call (or load of calls) with its faults and expectations."""

    call: Call
    context: Context = Field(default_factory=Context)
    expect: Expect | None = None

    @property
    def strategy(self) -> SingleStrategy | RepeatStrategy | LoadStrategy:
        return self.context.strategy

    @property
    def window_anchor(self) -> Literal["run", "call"]:
        """`run`: windows count from the start of the load. `call`: from the start of each call (single, repeat)."""
        return "run" if isinstance(self.context.strategy, LoadStrategy) else "call"

    @property
    def period_reference_s(self) -> float:
        """What 100% of a period means, seconds: the load duration, else the call's timeout (or its default)."""
        strategy = self.context.strategy
        if isinstance(strategy, LoadStrategy):
            return strategy.duration
        return self.call.timeout_ms / 1000.0

    def fault_windows(self, fault: FaultBase) -> tuple[Window, ...] | None:
        """The fault's active windows in seconds from `window_anchor`; None when it is active the whole time."""
        if not fault.period:
            return None
        reference = self.period_reference_s
        return tuple(period.window(reference) for period in fault.period)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def windows(self) -> tuple[tuple[Window, ...] | None, ...]:
        """`fault_windows` of each fault, in the order of `context.faults`."""
        return tuple(self.fault_windows(fault) for fault in self.context.faults)


class HttpPaths(_Model):
    segments: dict[str, Segment] = Field(
        default_factory=dict, description="Values for {name} placeholders in URLs (no whitespace or control "
        "character: they are pasted in as written)."
    )


class HttpConfig(_Model):
    headers: Headers = Field(default_factory=dict, description="Headers added to every call.")
    paths: HttpPaths | None = None


class Config(_Model):
    http: HttpConfig | None = None


class Scenario(_Model):
    """One YAML document: a titled list of items."""

    title: StrictStr = Field(min_length=1)
    description: StrictStr | None = None
    items: tuple[Item, ...] = Field(
        min_length=1, max_length=limits.MAX_ITEMS_PER_SCENARIO,
        description=f"At most {limits.MAX_ITEMS_PER_SCENARIO} items (the loader counts them before building any).",
    )
    config: Config | None = None

    @property
    def segments(self) -> dict[str, str]:
        http = self.config.http if self.config else None
        return dict(http.paths.segments) if http and http.paths else {}

    def url_of(self, item: Item) -> str:
        """The item's URL with {name} placeholders filled from config.http.paths.segments (unknown ones kept)."""
        return fill_placeholders(item.call.url, self.segments)

    def headers_of(self, item: Item) -> dict[str, str]:
        """config.http.headers, then the call's own headers on top."""
        http = self.config.http if self.config else None
        merged = dict(http.headers) if http else {}
        merged.update(item.call.headers)
        return merged


def fill_placeholders(url: str, segments: dict[str, str]) -> str:
    """`url` with each {name} that `segments` has replaced by its value (the others kept as written)."""
    return _PLACEHOLDER.sub(lambda match: segments.get(match.group(1), match.group(0)), url)


def placeholders(url: str) -> list[str]:
    """The {name} placeholders in a URL."""
    return _PLACEHOLDER.findall(url)
