"""The outcome of one pre-trade check, shared by the rebalance plan (which carries its checks) and the risk
rules (which produce them): neither module needs the other for these types."""

from __future__ import annotations

from dataclasses import dataclass

PASS, WARN, FAIL = "pass", "warn", "fail"
"""A check's status: fine, worth a look (never blocks), or blocks the plan."""


@dataclass(frozen=True)
class CheckResult:
    """One pre-trade check: status "pass" / "warn" / "fail", measured value vs limit, and why."""

    name: str
    status: str
    value: float | None
    limit: float | None
    message: str

    @property
    def passed(self) -> bool:
        return self.status != FAIL
