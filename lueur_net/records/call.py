"""One HTTP call as the driver measured it: the unit every statistic and verdict is computed from.

Plain data, no pandas: the driver builds these in a forked child inside the client namespace and sends
them back pickled; `lueur_net.records.frame` turns a list of them into the run's DataFrame.

Times: `intended_s` and `sent_s` are seconds on CLOCK_MONOTONIC counted from the item's t0, the same
origin as the fault windows (DESIGN principle 4). Durations are milliseconds. `latency_ms` counts from the
*intended* send time (open loop: a stalled server or a saturated client cannot hide queueing delay);
`total_ms` counts from the actual send. For single and repeat calls the two differ only by scheduling
noise; under load the difference is the send lag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PHASE_BASELINE = "baseline"
PHASE_FAULT = "fault"

# Transport error classes (None when a response arrived, whatever its status).
ERROR_TIMEOUT = "timeout"  # no answer within the call's timeout (connect, read, write or total)
ERROR_REFUSED = "refused"  # ECONNREFUSED: nothing listens, or an RST answered the SYN
ERROR_RESET = "reset"  # ECONNRESET / EPIPE on an established connection
ERROR_DNS = "dns"  # the name did not resolve
ERROR_PROTOCOL = "protocol"  # the peer broke HTTP (closed without a response, malformed response)
ERROR_OTHER = "other"  # anything else (unreachable network, TLS failure, ...): see `error`
ERROR_MISSED = "missed"  # due, but not sent: the driver reached it more than 1 s late (it was stalled)
ERROR_CLASSES = (ERROR_TIMEOUT, ERROR_REFUSED, ERROR_RESET, ERROR_DNS, ERROR_PROTOCOL, ERROR_OTHER, ERROR_MISSED)


@dataclass
class CallRecord:
    """One call. Field order is the DataFrame's column order (see docs/results-schema.md)."""

    scenario: str  # scenario title
    scenario_index: int  # position of the scenario in the run (0-based)
    item: int  # position of the item in its scenario (0-based)
    iteration: int  # repeat: fault iteration 0..count-1 (baseline: 0); single/load: 0
    phase: str  # "baseline" (no fault applied) or "fault"
    client: int  # load: virtual client 0..clients-1; otherwise 0
    seq: int  # position of the call in its item, in intended-send order
    method: str
    url: str
    intended_s: float  # intended send time, seconds from t0
    sent_s: float  # actual send time, seconds from t0
    connect_ms: float | None = None  # TCP connect (None: a kept-alive connection was reused)
    tls_ms: float | None = None  # TLS handshake (None: plain HTTP or reused connection)
    ttfb_ms: float | None = None  # actual send -> response headers received
    total_ms: float | None = None  # actual send -> body read or failure
    latency_ms: float | None = None  # intended send -> body read or failure (open-loop latency)
    status: int | None = None
    bytes_out: int = 0  # request line + headers + body as sent (HTTP level, not TCP/IP)
    bytes_in: int = 0  # status line + headers + body as received (HTTP level)
    error_class: str | None = None  # one of ERROR_CLASSES, None when a response arrived
    error: str | None = None  # the exception's text, for people
    faults: list[str] = field(default_factory=list)  # names of the fault windows active at `intended_s`
    capped: bool = False  # load: waited for a free slot because the in-flight cap was reached

    @property
    def send_lag_ms(self) -> float:
        return (self.sent_s - self.intended_s) * 1000.0


def call_failures(
    record: CallRecord, *, status: int | None = None, response_time_under: float | None = None
) -> list[str]:
    """Why a call misses its expectations (empty list: it meets them). Pure.

    `status`: the expected HTTP status. `response_time_under`: milliseconds, compared with the call's
    open-loop latency (`latency_ms`). A call without a response fails both checks that are set.
    """
    reasons: list[str] = []
    if status is not None and record.status != status:
        got = record.status if record.status is not None else (record.error_class or "no response")
        reasons.append(f"status {got} != {status}")
    if response_time_under is not None:
        if record.error_class is not None or record.latency_ms is None:
            reasons.append(f"no response ({record.error_class or 'unknown'}), wanted under {response_time_under:g} ms")
        elif record.latency_ms >= response_time_under:
            reasons.append(f"response time {record.latency_ms:.1f} ms >= {response_time_under:g} ms")
    return reasons


def is_error(record: CallRecord) -> bool:
    """Counts as failed for error-rate SLOs: no response (transport error) or a 5xx status."""
    return record.error_class is not None or (record.status is not None and record.status >= 500)
