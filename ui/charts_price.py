"""The price chart with trades: candles (or a close line), volume, entries and exits, and the stop-loss,
take-profit and trailing-stop levels each trade carried (pure Plotly, no Streamlit calls).

The trailing level is rebuilt bar by bar from the bars after entry, as the simulator moves it, so the chart
shows where the stop was on each bar, not only where it ended.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.figures.style import GAIN, LOSS, NEUTRAL, TRAILING
from engine.figures.style import layout as _layout
from engine.figures.style import range_selector as _range_selector


def _stop_segments(trades: pd.DataFrame, stops: Mapping[str, float | None]) -> dict[str, tuple[list, list]]:
    """Horizontal stop / take-profit levels per trade, from entry to exit, as x/y lists split by None."""
    out: dict[str, tuple[list, list]] = {}
    for kind in ("stop_loss", "take_profit"):
        frac = stops.get(kind)
        if not frac:
            continue
        xs: list = []
        ys: list = []
        for t in trades.itertuples(index=False):
            long = str(t.side).lower() != "short"
            sign = -1.0 if kind == "stop_loss" else 1.0
            level = float(t.entry_price) * (1.0 + sign * frac * (1.0 if long else -1.0))
            xs += [t.entry_time, t.exit_time, None]
            ys += [level, level, None]
        if xs:
            out[kind] = (xs, ys)
    return out


def trailing_levels(
    bars: pd.DataFrame,
    entry_time: pd.Timestamp,
    exit_time: pd.Timestamp,
    entry_price: float,
    trail: float,
    long: bool = True,
    entry_bar_counts: bool = True,
) -> pd.Series:
    """The trailing-stop level in force on each bar of one trade (entry bar .. exit bar), no look-ahead.

    Long: the highest of the entry price and the highs of the bars before this one (since entry) x (1 - trail);
    short: the lowest of the entry price and the earlier lows x (1 + trail). A bar's own high/low never moves
    the level it is checked against. `entry_bar_counts`: the entry bar's high/low counts for later bars (a fill
    at the open, as the engine does); False for fills at the close, where the entry bar's range came first.
    """
    window = bars.loc[entry_time:exit_time]
    extremes = window["high" if long else "low"].astype("float64").copy()
    if not entry_bar_counts and len(extremes):
        extremes.iloc[0] = np.nan
    earlier = extremes.shift(1)
    if long:
        peak = np.maximum(earlier.fillna(-np.inf).cummax().to_numpy(), float(entry_price))
        level = peak * (1.0 - trail)
    else:
        trough = np.minimum(earlier.fillna(np.inf).cummin().to_numpy(), float(entry_price))
        level = trough * (1.0 + trail)
    return pd.Series(level, index=window.index, name="trailing_stop")


def _trailing_segments(
    bars: pd.DataFrame, trades: pd.DataFrame, trail: float | None, entry_bar_counts: bool
) -> tuple[list, list] | None:
    """Every trade's trailing-stop path as x/y lists split by None (drawn as steps)."""
    if not trail or "high" not in bars.columns or "low" not in bars.columns:
        return None
    xs: list = []
    ys: list = []
    for t in trades.itertuples(index=False):
        exit_time = t.exit_time if pd.notna(t.exit_time) else bars.index[-1]
        level = trailing_levels(
            bars,
            t.entry_time,
            exit_time,
            float(t.entry_price),
            float(trail),
            long=str(t.side).lower() != "short",
            entry_bar_counts=entry_bar_counts,
        )
        if level.empty:
            continue
        xs += [*level.index, None]
        ys += [*level.to_numpy().tolist(), None]
    return (xs, ys) if xs else None


def price_figure(
    bars: pd.DataFrame,
    symbol: str = "",
    trades: pd.DataFrame | None = None,
    stops: Mapping[str, float | None] | None = None,
    volume: bool = True,
    entry_at_open: bool = True,
) -> go.Figure:
    """Candlesticks of one symbol (columns open/high/low/close[/volume]) with volume and trade markers.

    Entry markers sit at (entry_time, entry_price) (triangle up = long, down = short), exit markers at
    (exit_time, exit_price) for closed trades; a trade still open at the end has no exit marker. `stops`
    (fractions of the entry price) draw each trade's stop-loss and take-profit levels, and with "trailing_stop"
    the trailing level bar by bar (see `trailing_levels`; `entry_at_open` = entries fill at the open).
    """
    has_volume = volume and "volume" in bars.columns
    fig = make_subplots(
        rows=2 if has_volume else 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.78, 0.22] if has_volume else [1.0],
    )
    bars = bars.dropna(subset=["close"])
    fig.add_trace(
        go.Candlestick(
            x=bars.index,
            open=bars["open"],
            high=bars["high"],
            low=bars["low"],
            close=bars["close"],
            name=symbol or "price",
            increasing=dict(line=dict(color=GAIN)),
            decreasing=dict(line=dict(color=LOSS)),
        ),
        row=1,
        col=1,
    )
    if trades is not None and not trades.empty:
        trades = trades.sort_values("entry_time")
        short = trades["side"].astype(str).str.lower().eq("short").to_numpy()
        fig.add_trace(
            go.Scatter(
                x=trades["entry_time"],
                y=trades["entry_price"],
                mode="markers",
                name="Entry",
                marker=dict(
                    symbol=np.where(short, "triangle-down", "triangle-up"),
                    size=11,
                    color=np.where(short, LOSS, GAIN),
                    line=dict(width=1, color="white"),
                ),
                customdata=trades["side"],
                hovertemplate="entry %{customdata} @ %{y:.4g}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        closed = trades[trades["exit_reason"].astype(str) != "open"]
        if not closed.empty:
            fig.add_trace(
                go.Scatter(
                    x=closed["exit_time"],
                    y=closed["exit_price"],
                    mode="markers",
                    name="Exit",
                    marker=dict(symbol="x", size=10, color=NEUTRAL, line=dict(width=1, color=NEUTRAL)),
                    customdata=np.stack([closed["exit_reason"].astype(str), closed["return"].astype(float)], axis=1),
                    hovertemplate="exit (%{customdata[0]}) @ %{y:.4g}, return %{customdata[1]:.2%}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        for kind, (xs, ys) in _stop_segments(trades, stops or {}).items():
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=kind.replace("_", " "),
                    line=dict(color=LOSS if kind == "stop_loss" else GAIN, width=1, dash="dot"),
                    hoverinfo="skip",
                ),
                row=1,
                col=1,
            )
        trailing = _trailing_segments(bars, trades, (stops or {}).get("trailing_stop"), entry_at_open)
        if trailing is not None:
            fig.add_trace(
                go.Scatter(
                    x=trailing[0],
                    y=trailing[1],
                    mode="lines",
                    name="trailing stop",
                    line=dict(color=TRAILING, width=1.2, dash="dash", shape="hv"),
                    hovertemplate="trailing stop %{y:.4g}<extra></extra>",
                ),
                row=1,
                col=1,
            )
    if has_volume:
        up = (bars["close"] >= bars["open"]).to_numpy()
        fig.add_trace(
            go.Bar(
                x=bars.index,
                y=bars["volume"],
                name="volume",
                showlegend=False,
                marker=dict(color=np.where(up, GAIN, LOSS), opacity=0.5),
            ),
            row=2,
            col=1,
        )
        fig.update_yaxes(title_text="volume", row=2, col=1)
    _layout(fig, f"{symbol} price" if symbol else "Price", height=560 if has_volume else 460, hovermode="closest")
    fig.update_xaxes(rangeslider=dict(visible=False))
    fig.update_xaxes(rangeselector=_range_selector(), row=1, col=1)
    return fig
