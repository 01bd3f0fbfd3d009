"""A RebalancePlan back from the dict `RebalancePlan.to_dict` wrote: the plan payload the audit log stores, so a
rerun after a crash executes the orders the first execution worked on (brokers.execution)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from engine.ops.checks import CheckResult
from engine.ops.rebalance import PlannedOrder, RebalancePlan

_NESTED: dict[str, Callable[[Any], Any]] = {
    "orders": lambda v: tuple(PlannedOrder(**o) for o in v),
    "checks": lambda v: tuple(CheckResult(**c) for c in v),
    "data_timestamp": pd.Timestamp,
    "skipped": lambda v: tuple(tuple(x) for x in v),
    "sizing": lambda v: tuple(tuple(x) for x in v),
    "whole_shares": tuple,
}


def plan_from_dict(values: Mapping[str, Any]) -> RebalancePlan:
    """The RebalancePlan that `RebalancePlan.to_dict` wrote (keys it adds that are not fields are ignored)."""
    kwargs = {}
    for f in dataclasses.fields(RebalancePlan):
        if f.name in values:
            value = values[f.name]
            kwargs[f.name] = _NESTED[f.name](value) if f.name in _NESTED and value is not None else value
    return RebalancePlan(**kwargs)
