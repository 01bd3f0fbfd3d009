"""Walk-forward window splitting: rolling or anchored in-sample / out-of-sample windows over a bar index.

Lengths are bar counts (an int or a digit string, e.g. 250 or "250") or calendar spans ("3Y", "18M", "26W",
"90D"). Out-of-sample (OOS) windows tile the data without overlap: window k's OOS starts where window k-1's
ended, so the step between windows is the OOS length. The first OOS starts one in-sample (IS) length after
the first bar. Rolling: each IS is the IS length just before its OOS. Anchored: each IS starts at the first
bar and grows. The last OOS window may be shorter than the OOS length (it ends with the data), so every bar
after the first IS is out-of-sample exactly once.

Calendar lengths: boundaries are the first bar at or after the nominal date `first bar + IS + k * OOS`
(k = 0, 1, ...), computed from the start each time so month ends do not drift; a rolling IS starts at the
first bar at or after `boundary date - IS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from engine.errors import ConfigError, DataError

_UNITS = {"Y": "years", "M": "months", "W": "weeks", "D": "days"}
_PATTERN = re.compile(r"^\s*(\d+)\s*([YMWD]?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Length:
    """A window length: `bars` (a count) or `offset` (a calendar span); `text` is how it was written."""

    text: str
    bars: int | None = None
    offset: pd.DateOffset | None = None

    @property
    def span(self) -> pd.DateOffset:
        """The calendar span (for a length that is one; a bar count has none)."""
        if self.offset is None:
            raise ValueError(f"length {self.text!r} is a bar count, not a calendar span")
        return self.offset


@dataclass(frozen=True)
class Window:
    """One walk-forward window as bar positions: IS = [is_start, is_stop), OOS = [oos_start, oos_stop).

    is_stop == oos_start always (the OOS begins at the bar after the last IS bar).
    """

    number: int
    is_start: int
    is_stop: int
    oos_start: int
    oos_stop: int

    @property
    def is_bars(self) -> int:
        return self.is_stop - self.is_start

    @property
    def oos_bars(self) -> int:
        return self.oos_stop - self.oos_start


def parse_length(value: str | int, what: str = "length") -> Length:
    """`250`, `"250"` -> 250 bars; `"3Y"`, `"18M"`, `"26W"`, `"90D"` -> a calendar span (case-insensitive).

    Raises ConfigError naming `what` and the value for anything else (zero, negative, unknown unit).
    """
    if isinstance(value, bool):
        raise ConfigError(f"{what}: {value!r} is not a length; use bars (250) or a span (3Y, 18M, 26W, 90D)")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ConfigError(f"{what}: {value!r} is not a length; use bars (250) or a span (3Y, 18M, 26W, 90D)")
    match = _PATTERN.match(text)
    if not match:
        raise ConfigError(f"{what}: {value!r} is not a length; use bars (250) or a span (3Y, 18M, 26W, 90D)")
    count, unit = int(match.group(1)), match.group(2).upper()
    if count <= 0:
        raise ConfigError(f"{what}: {value!r} must be positive")
    if not unit:
        return Length(text=str(count), bars=count)
    return Length(text=f"{count}{unit}", offset=pd.DateOffset(**{_UNITS[unit]: count}))


def split_windows(
    index: pd.Index, in_sample: str | int, out_of_sample: str | int, anchored: bool = False, min_is_bars: int = 2
) -> list[Window]:
    """Split a bar index into walk-forward windows (see the module docstring for the rules).

    Args:
        index: ascending bar timestamps (a DatetimeIndex; bar-count lengths also work on any index).
        in_sample / out_of_sample: lengths (bars or calendar spans, see `parse_length`).
        anchored: True = every IS starts at the first bar; False = rolling IS of fixed length.
        min_is_bars: fewest bars an IS window may hold.

    Raises:
        DataError: the IS length leaves no OOS bar (IS longer than the data), or an IS window has fewer
            than `min_is_bars` bars.
        ConfigError: a malformed length, or a calendar length on an index without timestamps.
    """
    is_len = parse_length(in_sample, "in-sample")
    oos_len = parse_length(out_of_sample, "out-of-sample")
    n = len(index)
    if n == 0:
        raise DataError("walk-forward: no bars to split")
    if (is_len.offset is not None or oos_len.offset is not None) and not isinstance(index, pd.DatetimeIndex):
        raise ConfigError("walk-forward: calendar lengths (Y/M/W/D) need a DatetimeIndex; use bar counts")
    span = f"{n} bars" + (
        f", {index[0]:%Y-%m-%d} .. {index[-1]:%Y-%m-%d}" if isinstance(index, pd.DatetimeIndex) else ""
    )

    # the first boundary (first OOS bar) and its nominal date
    nominal0: pd.Timestamp | None = None
    if is_len.bars is not None:
        first = is_len.bars
    else:
        nominal0 = index[0] + is_len.span
        first = int(index.searchsorted(nominal0, side="left"))
    if first >= n:
        raise DataError(
            f"walk-forward: the in-sample length {is_len.text} is longer than the data ({span}); "
            "shorten it or load more history"
        )
    if nominal0 is None:
        nominal0 = index[first]

    bounds: list[tuple[int, pd.Timestamp]] = []
    k = 0
    while True:
        if oos_len.bars is not None:
            pos = first + k * oos_len.bars
            if pos >= n:
                break
            nominal = index[pos]
        else:
            nominal = nominal0 + oos_len.span * k
            pos = int(index.searchsorted(nominal, side="left"))
            if pos >= n:
                break
        if bounds and pos <= bounds[-1][0]:  # a calendar span with no bar in it: merge into the next window
            k += 1
            continue
        bounds.append((pos, nominal))
        k += 1

    windows = []
    for i, (start, nominal) in enumerate(bounds):
        stop = bounds[i + 1][0] if i + 1 < len(bounds) else n
        if anchored:
            is_start = 0
        elif is_len.bars is not None:
            is_start = start - is_len.bars
        else:
            is_start = int(index.searchsorted(nominal - is_len.span, side="left"))
        if start - is_start < min_is_bars:
            raise DataError(
                f"walk-forward: in-sample window {i + 1} ({is_len.text}) holds only "
                f"{start - is_start} bar(s); use a longer in-sample length"
            )
        windows.append(Window(number=i, is_start=is_start, is_stop=start, oos_start=start, oos_stop=stop))
    return windows
