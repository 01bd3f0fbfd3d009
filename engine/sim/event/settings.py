"""How the event simulator executes: latency and the volume participation cap (validated like every config)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.validation import FORBID, validated


@validated("execution")
@pydantic_dataclass(frozen=True, config=FORBID)
class Execution:
    """latency_bars: extra bars between a decision and the first bar its order may fill (0: an order placed at the
    close of bar t is active from bar t + 1's open). latency_seconds: the same given in seconds for intraday data,
    an order then fills at the open of the first bar starting at or after its arrival (`bars_of_latency`); the larger
    of the two is used.
    participation: the largest share of a bar's volume one symbol's fills may take in that bar (None = no cap); the
    rest of an order stays open for the next bars (a partial fill).
    """

    latency_bars: Annotated[StrictInt, Field(ge=0, le=10_000)] = 0
    latency_seconds: Annotated[StrictFloat, Field(ge=0, le=86_400 * 30)] = 0.0
    participation: Annotated[StrictFloat, Field(gt=0, le=1)] | None = None

    def bars_of_latency(self, bar_seconds: float) -> int:
        """The latency in whole bars for bars `bar_seconds` long: an order decided at a close arrives
        latency_seconds later and fills at the open of the first bar starting at or after it, so the seconds cost
        ceil(latency_seconds / bar_seconds) bars; the larger of that and latency_bars."""
        extra = math.ceil(self.latency_seconds / bar_seconds) if self.latency_seconds > 0 and bar_seconds > 0 else 0
        return max(self.latency_bars, extra)
