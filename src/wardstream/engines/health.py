"""Liveness and readiness, as Kubernetes probes expect them; the same for both engines.

* ``/livez`` - the worker's loop is running (it turned within ``LIVE_WITHIN_S``).
  A failing liveness probe means "restart me".
* ``/readyz`` - the worker decides events now: state read to the end and current,
  partitions assigned, audit tails read, not stalled. While not ready the body says
  why and, during the state read, how far it got (records read, lag left, an
  estimate of the time left). A failing readiness probe means "wait", never "restart".
* ``/health`` - kept as before for compatibility: ok while the state is current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LIVE_WITHIN_S = 60.0
STATE_STALE_S = 30.0

Probe = tuple[bool, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StateProgress:
    """How far the state read got: records applied so far and records left to the end."""

    ready: bool
    records_read: int
    lag: int | None  # None until the end offsets were listed
    rate: float  # records applied per second, recently

    def as_dict(self) -> dict[str, Any]:
        eta = round(self.lag / self.rate, 1) if self.lag and self.rate > 0 else None
        return {"records_read": self.records_read, "lag": self.lag, "eta_s": eta}


def liveness(seconds_since_turn: float) -> Probe:
    ok = seconds_since_turn < LIVE_WITHIN_S
    return ok, {"status": "live" if ok else "stuck", "since_turn_s": round(seconds_since_turn, 3)}


def readiness(
    *, state: StateProgress, state_age_s: float, assigned: bool, settled: bool = True
) -> Probe:
    """Ready, or the first reason it is not (in the order a worker gets there)."""
    if not state.ready:
        reason = "reading the state topics"
    elif state_age_s >= STATE_STALE_S:
        reason = f"the state is {state_age_s:.0f} s old (the state reader is not keeping up)"
    elif not assigned:
        reason = "waiting for partitions (joining the consumer group)"
    elif not settled:
        reason = "reading the audit tails of newly assigned partitions"
    else:
        reason = None
    body: dict[str, Any] = {"status": "ready" if reason is None else "not ready"}
    if reason is not None:
        body["reason"] = reason
    body["state"] = {**state.as_dict(), "age_s": round(state_age_s, 3)}
    return reason is None, body
