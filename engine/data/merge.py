"""Merge freshly downloaded bars into a stored series without splicing two adjustment bases.

Adjusted prices (split- and dividend-adjusted, as the bundled sample and Stooq are) are rescaled back in time
whenever a dividend goes ex or a split happens. So before new bars are appended, the bars both series have
are compared: when every overlapping open/high/low/close agrees within a relative tolerance, the stored series
is on the same basis and only the new dates are added (the stored bars are kept as they are, including any
the source lacks). When they disagree, or when there is no overlap to compare, the whole series is replaced by
the downloaded one: a series glued from two bases would show a false jump where they meet. The result says
which of the two happened and why.

Tolerance: ``IVYBT_DATA_ADJUST_TOLERANCE`` (relative, default 0.001 = 0.1 %): above price rounding (the
bundled files keep 6 significant digits, Stooq 4 decimals) and below one quarterly dividend of a broad ETF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.validate import PRICE_FIELDS
from engine.settings import env_number

TOLERANCE_ENV = "IVYBT_DATA_ADJUST_TOLERANCE"
DEFAULT_TOLERANCE = 0.001


def adjust_tolerance() -> float:
    """$IVYBT_DATA_ADJUST_TOLERANCE (relative, 0 <= x < 1), else 0.001."""
    return env_number(
        TOLERANCE_ENV, DEFAULT_TOLERANCE, lambda v: 0 <= v < 1, "expected a relative tolerance in [0, 1), e.g. 0.001"
    )


@dataclass(frozen=True)
class Merged:
    """The outcome of one merge.

    Attributes:
        frame: the series to store (standard frame).
        action: "created" (nothing stored before), "appended" (new dates added), "unchanged" (nothing new) or
            "replaced" (the whole series taken from the download).
        added: bars whose date the stored series did not have.
        dropped: stored bars the result no longer has (only when replaced).
        note: one sentence on compatibility (what was compared and why the series was kept or replaced).
    """

    frame: pd.DataFrame
    action: str
    added: int
    dropped: int
    note: str


def largest_difference(old: pd.DataFrame, new: pd.DataFrame) -> tuple[float, pd.Timestamp | None, int]:
    """(largest relative difference of open/high/low/close, its date, overlapping bars) over shared dates."""
    common = old.index.intersection(new.index)
    if len(common) == 0:
        return 0.0, None, 0
    a = old.loc[common, list(PRICE_FIELDS)].to_numpy(dtype="float64")
    b = new.loc[common, list(PRICE_FIELDS)].to_numpy(dtype="float64")
    rel = np.abs(b - a) / np.abs(a)
    per_bar = rel.max(axis=1)
    k = int(np.argmax(per_bar))
    return float(per_bar[k]), pd.Timestamp(common[k]), len(common)


def merge_bars(old: pd.DataFrame | None, new: pd.DataFrame, tolerance: float, source: str = "the source") -> Merged:
    """Merge `new` (downloaded) into `old` (stored, or None) as the module docstring says."""
    if old is None or len(old) == 0:
        return Merged(new, "created", len(new), 0, f"no stored bars: took {len(new):,} bars from {source}")
    worst, when, overlap = largest_difference(old, new)
    if overlap == 0:
        return Merged(
            new,
            "replaced",
            len(new.index.difference(old.index)),
            len(old),
            f"no overlapping bars to check the adjustment against: replaced the whole series from {source} "
            f"({len(old):,} stored bars dropped)",
        )
    if worst > tolerance:
        dropped = len(old.index.difference(new.index))
        lost = f"; {dropped:,} stored bars {source} lacks were dropped" if dropped else ""
        return Merged(
            new,
            "replaced",
            len(new.index.difference(old.index)),
            dropped,
            f"the overlapping bars differ by up to {worst:.3%} (on {when:%Y-%m-%d}; tolerance {tolerance:.3%}): "
            f"the adjustment changed (a split or dividend since the stored download, or another adjustment "
            f"basis), so the whole series was replaced from {source} rather than spliced{lost}",
        )
    fresh = new.loc[new.index.difference(old.index)]
    note = f"compatible: the {overlap:,} overlapping bars agree within {tolerance:.3%} (largest {worst:.4%})"
    if len(fresh) == 0:
        return Merged(old, "unchanged", 0, 0, note)
    frame = pd.concat([old, fresh]).sort_index()
    return Merged(frame, "appended", len(fresh), 0, note)
