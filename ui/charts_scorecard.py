"""Pure Plotly builders and table helpers for verdicts (no Streamlit calls): the universe ranking with its kept
symbols, and the robustness scorecard (pass / warn / fail per check)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engine.metrics import registry
from ui.charts import BENCHMARK, GAIN, GRID, LOSS, NEUTRAL, STRATEGY, _layout
from ui.tables import BLANK

VERDICT_COLORS = {"pass": GAIN, "warn": BENCHMARK, "fail": LOSS}
VERDICT_FILLS = {"pass": "rgba(22,163,74,0.22)", "warn": "rgba(245,158,11,0.25)", "fail": "rgba(220,38,38,0.22)"}


# ------------------------------------------------------------------------------------ universe, scorecard
def universe_ranking_figure(
    ranking: pd.DataFrame | pd.Series, metric: str, kept: Sequence[str] = (), threshold: float | None = None
) -> go.Figure:
    """Horizontal bars of each symbol's in-sample `metric`, best on top; kept symbols in the strategy colour,
    the rest grey; an optional dashed threshold line."""
    if isinstance(ranking, pd.DataFrame):
        s = ranking.set_index("symbol")[metric] if "symbol" in ranking.columns else ranking[metric]
    else:
        s = ranking
    s = pd.to_numeric(s, errors="coerce").sort_values(ascending=True, na_position="first")
    keep = set(kept)
    colors = [STRATEGY if sym in keep else NEUTRAL for sym in s.index]
    fig = go.Figure(
        go.Bar(
            x=s.to_numpy(),
            y=[str(i) for i in s.index],
            orientation="h",
            marker_color=colors,
            hovertemplate=f"%{{y}}: {registry.label(metric)} %{{x:.4g}}<extra></extra>",
        )
    )
    if threshold is not None:
        fig.add_vline(x=float(threshold), line=dict(color=LOSS, width=1.5, dash="dash"), annotation_text="threshold")
    _layout(
        fig,
        f"Universe ranked by in-sample {registry.label(metric)} ({len(keep)} kept)",
        height=max(260, 24 * len(s) + 100),
        hovermode="closest",
    )
    fig.update_xaxes(title_text=registry.label(metric), gridcolor=GRID)
    return fig


def _line_fields(line: Any) -> dict[str, Any]:
    if isinstance(line, Mapping):
        return {k: line.get(k) for k in ("name", "value", "verdict", "detail")}
    return {k: getattr(line, k, None) for k in ("name", "value", "verdict", "detail")}


def scorecard_frame(lines: Iterable[Any]) -> pd.DataFrame:
    """Scorecard lines (ScoreLine objects or mappings) as a frame: check, value, verdict, detail."""
    rows = [_line_fields(line) for line in lines]
    frame = pd.DataFrame(rows, columns=["name", "value", "verdict", "detail"]).rename(columns={"name": "check"})
    frame["verdict"] = frame["verdict"].astype(str).str.lower()
    return frame


def _fmt_value(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        return "n/a" if np.isnan(x) else f"{x:.4g}"
    return "" if v is None else str(v)


def scorecard_styler(frame: pd.DataFrame) -> Any:
    """A Styler of `scorecard_frame`: the verdict cell green (pass), amber (warn) or red (fail); a missing detail
    shows as a dash (a Styler would write "None")."""

    def paint(v: Any) -> str:
        fill = VERDICT_FILLS.get(str(v).lower())
        return f"background-color: {fill}; font-weight: 600" if fill else ""

    text_columns = [c for c in frame.columns if c != "value"]
    styler = frame.style.format({"value": _fmt_value}).format(na_rep=BLANK, subset=text_columns)
    return styler.map(paint, subset=["verdict"]).hide(axis="index")


def scorecard_figure(lines: Iterable[Any]) -> go.Figure:
    """The scorecard as a Plotly table (for the HTML report): verdict cells filled green/amber/red."""
    f = scorecard_frame(lines)
    fills = [VERDICT_FILLS.get(v, "rgba(0,0,0,0)") for v in f["verdict"]]
    plain = ["rgba(0,0,0,0)"] * len(f)
    fig = go.Figure(
        go.Table(
            header=dict(values=["check", "value", "verdict", "detail"], align="left", font=dict(size=13)),
            cells=dict(
                values=[f["check"], [_fmt_value(v) for v in f["value"]], f["verdict"], f["detail"].fillna("")],
                fill_color=[plain, plain, fills, plain],
                align="left",
                height=26,
            ),
        )
    )
    _layout(fig, "Robustness scorecard", height=90 + 28 * max(1, len(f)), hovermode="closest")
    return fig


def verdict_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many lines passed, warned and failed."""
    counts = frame["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in ("pass", "warn", "fail")}
