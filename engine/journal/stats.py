"""Which of my reasons make money? The journal's entries with their trades' real P&L (engine.journal.frames),
grouped by tag, by setup or by emotional state.

An entry with several tags counts once in each of its tags' groups; an entry without a tag, setup or state falls
in the group "(none)". Per group: `entries`, `closed` (entries whose trade has a P&L: a live position still open
has none yet), `total_pnl`, `mean_pnl` (total / closed), `win_rate` (share of closed trades with P&L > 0) and
`best` / `worst` trade. Groups are sorted by total P&L, best first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import ConfigError

GROUPINGS: tuple[str, ...] = ("tag", "setup", "state")
STAT_COLUMNS: tuple[str, ...] = ("entries", "closed", "total_pnl", "mean_pnl", "win_rate", "best", "worst")
NONE = "(none)"


def pnl_by(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """P&L statistics of `journal_frame` rows grouped by "tag", "setup" or "state" (STAT_COLUMNS, index named
    `by`)."""
    if by not in GROUPINGS:
        raise ConfigError(f"journal stats: cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")
    if by == "tag":
        keys = frame["tags"].map(lambda t: list(t) if len(t) else [NONE])
        long = frame.assign(group=keys).explode("group")
    elif by == "setup":
        long = frame.assign(group=frame["setup"].where(frame["setup"] != "", NONE))
    else:
        long = frame.assign(group=frame["state_label"].where(frame["state_label"] != "", NONE))
    rows = {}
    for group, part in long.groupby("group", sort=False):
        done = part["pnl"].dropna()
        closed = len(done)
        total = float(done.sum())
        rows[group] = {
            "entries": len(part),
            "closed": closed,
            "total_pnl": total,
            "mean_pnl": total / closed if closed else np.nan,
            "win_rate": float((done > 0).sum()) / closed if closed else np.nan,
            "best": float(done.max()) if closed else np.nan,
            "worst": float(done.min()) if closed else np.nan,
        }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(STAT_COLUMNS))
    out.index.name = by
    out = out.astype({"entries": "int64", "closed": "int64"})
    return out.sort_values(["total_pnl", "entries"], ascending=[False, False], kind="stable")
