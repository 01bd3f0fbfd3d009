"""Pure Plotly builders (and table helpers) for optimization results: no Streamlit calls.

Inputs are the plain frames the engine returns (optimizer table, parameter surfaces, walk-forward windows and
stability); outputs are `go.Figure`s, display frames or pandas `Styler`s. Monte Carlo charts live in
`ui.charts_montecarlo`, the universe ranking and the scorecard in `ui.charts_scorecard`. Colours come from `ui.charts` so the strategy, the benchmark, gains and losses match every page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.metrics import registry
from ui.charts import BENCHMARK, GAIN, LOSS, NEUTRAL, STRATEGY, _layout, _range_controls, color_for
from ui.tables import BLANK

AGGREGATES = ("mean", "max", "min", "median")
DIVERGING = [[0.0, LOSS], [0.5, "#f5f5f5"], [1.0, GAIN]]
SEQUENTIAL = "Viridis"
#: Most columns a heatmap prints its values in: beyond it the numbers of neighbouring cells run into each other
#: (the values stay in the hover text).
MAX_TEXT_COLUMNS = 12


# ----------------------------------------------------------------------------------------------- ranked table
def ranked_table(
    table: pd.DataFrame,
    param_names: Sequence[str],
    objective: str = "objective",
    metrics: Sequence[str] = registry.TRIAL_COLUMNS,
    top: int | None = None,
) -> pd.DataFrame:
    """The optimizer table for display: rank (1 = best), parameters, objective, a few metrics, feasible.

    Rows keep the engine's order (best first); `top` keeps only the first rows. Columns missing from the
    table are skipped, so the helper works for any metric set.
    """
    cols = [c for c in (*param_names, objective, *metrics, "feasible") if c in table.columns]
    cols = list(dict.fromkeys(cols))
    out = table.loc[:, cols].copy()
    if top is not None:
        out = out.head(top)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def ranked_styler(
    display: pd.DataFrame,
    objective: str = "objective",
    percent: Iterable[str] | None = None,
) -> Any:
    """A pandas Styler of `ranked_table`'s frame: infeasible rows greyed, the objective shaded from red (worst
    shown) to green (best shown), fractions as percentages, counts as integers, missing values as a dash; metric
    columns headed by their registry labels (units included). The index, the trial id, stays."""
    values = pd.to_numeric(display[objective], errors="coerce") if objective in display else pd.Series(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)

    def shade(v: Any) -> str:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return ""
        if not np.isfinite(x) or hi == lo:
            return ""
        a = (x - lo) / (hi - lo)
        rgb = (22, 163, 74) if a >= 0.5 else (220, 38, 38)
        return f"background-color: rgba({rgb[0]},{rgb[1]},{rgb[2]},{abs(a - 0.5) * 0.7:.2f})"

    def grey(row: pd.Series) -> list[str]:
        bad = "feasible" in row.index and not bool(row["feasible"])
        return ["color: #9ca3af" if bad else ""] * len(row)

    percent = registry.percent_keys(display.columns) if percent is None else percent
    fmt = {c: "{:.2%}" for c in percent if c in display.columns}
    fmt.update({c: "{:.4f}" for c in (objective, "sharpe") if c in display.columns})
    fmt.update({c: "{:,.0f}" for c in display.columns if registry.is_count(c)})
    headers = {c: registry.label(c) for c in display.columns if c in registry.KEYS and c != objective}
    shown = display.rename(columns=headers)
    fmt = {headers.get(c, c): f for c, f in fmt.items()}
    styler = shown.style.format(fmt, na_rep=BLANK).apply(grey, axis=1)
    if objective in shown.columns:
        styler = styler.map(shade, subset=[objective])
    return styler


# ----------------------------------------------------------------------------------- two-parameter surfaces
def heatmap_matrix(
    table: pd.DataFrame,
    x: str,
    y: str,
    value: str = "objective",
    fixed: Mapping[str, Any] | None = None,
    agg: str = "mean",
) -> pd.DataFrame:
    """`value` on a (y rows x x columns) grid of two parameters.

    Rows whose other parameters differ from `fixed` are dropped first; parameters neither plotted nor
    fixed are aggregated with `agg` (mean, max, min or median) over the remaining rows of each cell.
    Infinite values (e.g. an infeasible set scored -inf) count as missing. Cells with no rows are NaN.
    """
    if x == y:
        raise ValueError(f"heatmap needs two different parameters, got {x!r} twice")
    if agg not in AGGREGATES:
        raise ValueError(f"agg must be one of {AGGREGATES}, got {agg!r}")
    for name in (x, y, value, *(fixed or {})):
        if name not in table.columns:
            raise ValueError(f"column {name!r} is not in the table (have {list(table.columns)})")
    rows = table
    for name, v in (fixed or {}).items():
        rows = rows[rows[name] == v]
    vals = pd.to_numeric(rows[value], errors="coerce").replace([np.inf, -np.inf], np.nan)
    frame = pd.DataFrame({x: rows[x].to_numpy(), y: rows[y].to_numpy(), value: vals.to_numpy()})
    grid = frame.pivot_table(index=y, columns=x, values=value, aggfunc=agg, dropna=False)
    xs = sorted(pd.unique(table[x]))
    ys = sorted(pd.unique(table[y]))
    return grid.reindex(index=ys, columns=xs).astype("float64")


def _best_cell(matrix: pd.DataFrame, maximize: bool) -> tuple[Any, Any] | None:
    z = matrix.to_numpy()
    if not np.isfinite(z).any():
        return None
    flat = np.nanargmax(z) if maximize else np.nanargmin(z)
    i, j = np.unravel_index(flat, z.shape)
    return matrix.columns[j], matrix.index[i]


def _subtitle(fixed: Mapping[str, Any] | None, others: Sequence[str], agg: str) -> str:
    parts = [f"{k}={v}" for k, v in (fixed or {}).items()]
    rest = [o for o in others if o not in (fixed or {})]
    if rest:
        parts.append(f"{agg} over {', '.join(rest)}")
    return f" ({'; '.join(parts)})" if parts else ""


def param_heatmap_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    value: str = "objective",
    fixed: Mapping[str, Any] | None = None,
    agg: str = "mean",
    maximize: bool = True,
    param_names: Sequence[str] = (),
) -> go.Figure:
    """Heatmap of `value` over parameters x and y (see `heatmap_matrix`), the best cell outlined, values printed
    in the cells when there are at most MAX_TEXT_COLUMNS columns (else in the hover text only, as printed they
    would overlap). `param_names` (all optimized parameters) only labels which ones were aggregated."""
    m = heatmap_matrix(table, x, y, value, fixed, agg)
    z = m.to_numpy()
    printed = len(m.columns) <= MAX_TEXT_COLUMNS
    text = [["" if np.isnan(v) or not printed else f"{v:.3g}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in m.columns],
            y=[str(i) for i in m.index],
            colorscale=SEQUENTIAL,
            reversescale=not maximize,
            text=text,
            texttemplate="%{text}",
            colorbar=dict(title=dict(text=registry.label(value))),
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{registry.label(value)}=%{{z:.4g}}<extra></extra>",
        )
    )
    best = _best_cell(m, maximize)
    if best is not None:
        fig.add_trace(
            go.Scatter(
                x=[str(best[0])],
                y=[str(best[1])],
                mode="markers",
                name="best",
                marker=dict(symbol="square-open", size=26, color="white", line=dict(width=3)),
                hovertemplate=f"best: {x}=%{{x}}, {y}=%{{y}}<extra></extra>",
            )
        )
    others = [p for p in param_names if p not in (x, y)]
    _layout(
        fig,
        f"{registry.label(value)} by {x} and {y}{_subtitle(fixed, others, agg)}",
        height=max(360, 28 * len(m.index) + 140),
        hovermode="closest",
    )
    fig.update_xaxes(type="category", title_text=x)
    fig.update_yaxes(type="category", title_text=y)
    fig.update_layout(showlegend=False)
    return fig


def param_surface_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    value: str = "objective",
    fixed: Mapping[str, Any] | None = None,
    agg: str = "mean",
    param_names: Sequence[str] = (),
) -> go.Figure:
    """3D surface of `value` over parameters x and y (same matrix as the heatmap); a flat plateau is robust,
    a lone spike is not."""
    m = heatmap_matrix(table, x, y, value, fixed, agg)
    fig = go.Figure(
        go.Surface(
            z=m.to_numpy(),
            x=m.columns.to_numpy(dtype="float64"),
            y=m.index.to_numpy(dtype="float64"),
            colorscale=SEQUENTIAL,
            colorbar=dict(title=dict(text=registry.label(value))),
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{registry.label(value)}=%{{z:.4g}}<extra></extra>",
        )
    )
    others = [p for p in param_names if p not in (x, y)]
    _layout(fig, f"{registry.label(value)} surface{_subtitle(fixed, others, agg)}", height=560, hovermode="closest")
    fig.update_layout(scene=dict(xaxis_title=x, yaxis_title=y, zaxis_title=registry.label(value)))
    return fig


# ------------------------------------------------------------------------------------------- walk-forward
def window_params(windows: pd.DataFrame, param_names: Sequence[str]) -> pd.DataFrame:
    """The chosen parameters per window as columns: taken from columns named like the parameters, or from
    a `params` column of dicts."""
    have = [p for p in param_names if p in windows.columns]
    if have or "params" not in windows.columns:
        return windows.loc[:, have]
    return pd.DataFrame(list(windows["params"]), index=windows.index).reindex(columns=list(param_names))


def walkforward_equity_figure(
    oos_equity: pd.Series,
    benchmark: pd.Series | None = None,
    windows: pd.DataFrame | None = None,
    initial_cash: float | None = None,
) -> go.Figure:
    """Stitched out-of-sample equity against buy-and-hold of the benchmark's closes over the same bars; each
    window's OOS start is a dotted vertical line.

    Buy-and-hold holds `initial_cash` from the close before the first OOS bar (the strategy's starting point),
    i.e. cash x close[t] / close[first OOS - 1]; without `initial_cash` (or without that earlier close) it is
    rebased to the strategy's equity on the first OOS bar.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=oos_equity.index,
            y=oos_equity.to_numpy(),
            name="Walk-forward OOS",
            mode="lines",
            line=dict(color=STRATEGY, width=2),
            hovertemplate="%{y:,.0f}",
        )
    )
    if benchmark is not None and not benchmark.dropna().empty and len(oos_equity):
        full = benchmark.ffill()
        b = full.reindex(oos_equity.index).dropna()
        before = full.loc[full.index < oos_equity.index[0]].dropna()
        if not b.empty and initial_cash is not None and not before.empty:
            b = b / float(before.iloc[-1]) * float(initial_cash)
        elif not b.empty:
            b = b / b.iloc[0] * float(oos_equity.loc[b.index[0]])
        if not b.empty:
            fig.add_trace(
                go.Scatter(
                    x=b.index,
                    y=b.to_numpy(),
                    name="Buy and hold",
                    mode="lines",
                    line=dict(color=BENCHMARK, width=1.5),
                    hovertemplate="%{y:,.0f}",
                )
            )
    if windows is not None and "oos_start" in windows.columns:
        for ts in windows["oos_start"]:
            fig.add_vline(x=pd.Timestamp(ts), line=dict(color=NEUTRAL, width=1, dash="dot"))
    _layout(fig, "Out-of-sample equity (stitched windows)", height=440)
    _range_controls(fig)
    fig.update_yaxes(title_text="equity", tickformat=",.0f")
    return fig


def parameter_path_figure(windows: pd.DataFrame, param_names: Sequence[str]) -> go.Figure:
    """The parameters chosen in-sample for each window, one panel per parameter, plotted as steps over the
    window's out-of-sample period (x = OOS start). Stable choices are flat lines."""
    chosen = window_params(windows, param_names)
    names = [p for p in param_names if p in chosen.columns]
    x = pd.to_datetime(windows["oos_start"]) if "oos_start" in windows.columns else np.arange(len(windows))
    fig = make_subplots(
        rows=max(1, len(names)), cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=names or None
    )
    for i, name in enumerate(names):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=chosen[name].to_numpy(),
                name=name,
                mode="lines+markers",
                line=dict(shape="hv", color=color_for(i), width=2),
                hovertemplate=f"{name}=%{{y}}<extra>%{{x}}</extra>",
            ),
            row=i + 1,
            col=1,
        )
    _layout(fig, "Chosen parameters per window", height=max(260, 190 * max(1, len(names)) + 60), hovermode="closest")
    fig.update_layout(showlegend=False)
    return fig


def stability_matrix(stability: pd.DataFrame, param: str, metric: str, agg: str = "mean") -> pd.DataFrame:
    """Window x parameter-value matrix of one in-sample metric from the long-form stability frame
    (columns: window, the parameters, metric, value); other parameters are aggregated with `agg`."""
    if agg not in AGGREGATES:
        raise ValueError(f"agg must be one of {AGGREGATES}, got {agg!r}")
    for name in ("window", param, "metric", "value"):
        if name not in stability.columns:
            raise ValueError(f"column {name!r} is not in the stability frame (have {list(stability.columns)})")
    rows = stability[stability["metric"] == metric]
    vals = pd.to_numeric(rows["value"], errors="coerce").replace([np.inf, -np.inf], np.nan)
    frame = pd.DataFrame({"window": rows["window"].to_numpy(), param: rows[param].to_numpy(), "value": vals})
    m = frame.pivot_table(index="window", columns=param, values="value", aggfunc=agg, dropna=False)
    return m.reindex(index=sorted(pd.unique(stability["window"])), columns=sorted(pd.unique(stability[param]))).astype(
        "float64"
    )


def stability_figure(
    stability: pd.DataFrame,
    param: str,
    metric: str,
    agg: str = "mean",
    kind: str = "heatmap",
    chosen: Sequence[Any] | None = None,
) -> go.Figure:
    """Stability surface: `metric` by window (y) and `param` value (x), as a heatmap or a 3D surface.
    `chosen` (the value picked in each window) is drawn as markers on the heatmap."""
    m = stability_matrix(stability, param, metric, agg)
    name = registry.label(metric)
    title = f"Stability: in-sample {name} by window and {param} ({agg} over other parameters)"
    if kind == "surface":
        fig = go.Figure(
            go.Surface(
                z=m.to_numpy(),
                x=m.columns.to_numpy(dtype="float64"),
                y=m.index.to_numpy(dtype="float64"),
                colorscale=SEQUENTIAL,
                colorbar=dict(title=dict(text=name)),
            )
        )
        _layout(fig, title, height=560, hovermode="closest")
        fig.update_layout(scene=dict(xaxis_title=param, yaxis_title="window", zaxis_title=name))
        return fig
    if kind != "heatmap":
        raise ValueError(f"kind must be 'heatmap' or 'surface', got {kind!r}")
    fig = go.Figure(
        go.Heatmap(
            z=m.to_numpy(),
            x=[str(c) for c in m.columns],
            y=[str(i) for i in m.index],
            colorscale=SEQUENTIAL,
            colorbar=dict(title=dict(text=name)),
            hovertemplate=f"window %{{y}}<br>{param}=%{{x}}<br>{name}=%{{z:.4g}}<extra></extra>",
        )
    )
    if chosen is not None:
        fig.add_trace(
            go.Scatter(
                x=[str(v) for v in chosen],
                y=[str(i) for i in m.index[: len(chosen)]],
                mode="markers",
                name="chosen",
                marker=dict(symbol="x", size=12, color="white", line=dict(width=2, color="black")),
            )
        )
    _layout(fig, title, height=max(320, 30 * len(m.index) + 140), hovermode="closest")
    fig.update_xaxes(type="category", title_text=param)
    fig.update_yaxes(type="category", title_text="window")
    fig.update_layout(showlegend=False)
    return fig
