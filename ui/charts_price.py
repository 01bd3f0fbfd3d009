"""The price chart with trades: candles, the strategy's own lines (`Strategy.plot_series`: averages, bands and
channels over the candles, oscillators in panels below), volume, entries and exits with a hover per trade
(entry, exit, P&L, bars held, exit reason), and the stop-loss, take-profit and trailing-stop levels each trade
carried (pure Plotly, no Streamlit calls).

The trailing level is rebuilt bar by bar from the bars after entry, as the simulator moves it, so the chart
shows where the stop was on each bar, not only where it ended. A stop may be one fraction for every trade (the
config's) or one per trade (a strategy's own `stop_fractions`, read at the trade's signal bar).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.figures.style import GAIN, LOSS, NEUTRAL, TRAILING, themed
from engine.figures.style import layout as _layout
from engine.figures.style import range_selector as _range_selector

StopSpec = float | Sequence[float] | np.ndarray | None
"""A stop distance (fraction of the entry price): one for every trade, one per trade (NaN = off), or None."""
LINE_COLORS = ("#2563eb", "#a855f7", "#0891b2", "#db2777", "#65a30d", "#ca8a04")
HOVER_FIELDS = (
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "return",
    "bars_held",
    "exit_reason",
)
"""The trade record's fields each entry and exit marker carries for its hover, in this order (then the reason
in words)."""
REASON_WORDS = {
    "signal": "signal",
    "rebalance": "rebalance",
    "stop_loss": "stop",
    "take_profit": "target",
    "trailing_stop": "trailing stop",
    "open": "still open",
}
TRADE_HOVER = (
    "<b>%{customdata[0]} trade</b><br>entry %{customdata[1]} @ %{customdata[2]:.4g}"
    "<br>exit %{customdata[3]} @ %{customdata[4]:.4g} (%{customdata[9]})"
    "<br>P&L %{customdata[5]:,.2f} (%{customdata[6]:.2%}), %{customdata[7]} bars held<extra></extra>"
)


def _per_trade(spec: StopSpec, n: int) -> np.ndarray:
    """A stop spec as one fraction per trade (NaN = off)."""
    if spec is None:
        return np.full(n, np.nan)
    if np.ndim(spec) == 0:
        return np.full(n, float(spec) if spec else np.nan)  # type: ignore[arg-type]
    values = np.asarray(spec, dtype="float64")
    if len(values) != n:
        raise ValueError(f"{len(values)} stop fractions for {n} trades")
    return values


def _when(times: pd.Series) -> list[str]:
    """Bar times for a hover: dates, or date and time when any bar is intraday."""
    ts = pd.to_datetime(times)
    daily = bool((ts.dropna() == ts.dropna().dt.normalize()).all())
    return [t.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M") if pd.notna(t) else "" for t in ts]


def trade_hover(trades: pd.DataFrame) -> np.ndarray:
    """The customdata of the trade markers: per trade its record's HOVER_FIELDS (times as text), then the exit
    reason in words (stop, target, trailing stop, signal...)."""
    columns: list[Any] = []
    for field in HOVER_FIELDS:
        col = trades[field]
        columns.append(_when(col) if field.endswith("_time") else col.tolist())
    columns.append([REASON_WORDS.get(str(r), str(r)) for r in trades["exit_reason"]])
    return np.array(list(zip(*columns)), dtype=object).reshape(len(trades), len(HOVER_FIELDS) + 1)


def _stop_segments(trades: pd.DataFrame, stops: Mapping[str, StopSpec]) -> dict[str, tuple[list, list]]:
    """Horizontal stop / take-profit levels per trade, from entry to exit, as x/y lists split by None."""
    out: dict[str, tuple[list, list]] = {}
    for kind in ("stop_loss", "take_profit"):
        fracs = _per_trade(stops.get(kind), len(trades))
        xs: list = []
        ys: list = []
        for t, frac in zip(trades.itertuples(index=False), fracs):
            if not np.isfinite(frac) or frac <= 0:
                continue
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
    bars: pd.DataFrame, trades: pd.DataFrame, trail: StopSpec, entry_bar_counts: bool
) -> tuple[list, list] | None:
    """Every trade's trailing-stop path as x/y lists split by None (drawn as steps)."""
    if trail is None or "high" not in bars.columns or "low" not in bars.columns:
        return None
    xs: list = []
    ys: list = []
    for t, frac in zip(trades.itertuples(index=False), _per_trade(trail, len(trades))):
        if not np.isfinite(frac) or frac <= 0:
            continue
        exit_time = t.exit_time if pd.notna(t.exit_time) else bars.index[-1]
        level = trailing_levels(
            bars,
            t.entry_time,
            exit_time,
            float(t.entry_price),
            float(frac),
            long=str(t.side).lower() != "short",
            entry_bar_counts=entry_bar_counts,
        )
        if level.empty:
            continue
        xs += [*level.index, None]
        ys += [*level.to_numpy().tolist(), None]
    return (xs, ys) if xs else None


def _panels(lines: Mapping[str, tuple[str, pd.Series]]) -> list[str]:
    """The lower panels the lines ask for, in order of first use (the price panel is always row 1)."""
    return list(dict.fromkeys(panel for panel, _ in lines.values() if panel != "price"))


def price_figure(
    bars: pd.DataFrame,
    symbol: str = "",
    trades: pd.DataFrame | None = None,
    stops: Mapping[str, StopSpec] | None = None,
    volume: bool = True,
    entry_at_open: bool = True,
    lines: Mapping[str, tuple[str, pd.Series]] | None = None,
    theme: str | None = None,
) -> go.Figure:
    """Candlesticks of one symbol (columns open/high/low/close[/volume]) with the strategy's lines, volume and
    trade markers.

    `lines`: label -> (panel, values on the bars' index), from `Strategy.plot_series`; panel "price" draws over
    the candles, any other name gets a panel of its own below them. Entry markers sit at (entry_time,
    entry_price) (triangle up = long, down = short), exit markers at (exit_time, exit_price) for closed trades
    (green = gain, red = loss); a trade still open at the end has no exit marker. Hovering either shows the
    trade (`trade_hover`). `stops` (fractions of the entry price, one or one per trade) draw each trade's
    stop-loss and take-profit levels, and with "trailing_stop" the trailing level bar by bar (see
    `trailing_levels`; `entry_at_open` = entries fill at the open). `theme`: "dark" or "light" (`themed`).
    """
    lines = dict(lines or {})
    panels = _panels(lines)
    has_volume = volume and "volume" in bars.columns
    heights = [0.62] + [0.2] * len(panels) + ([0.16] if has_volume else [])
    fig = make_subplots(
        rows=len(heights),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[h / sum(heights) for h in heights],
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
    for k, (label, (panel, values)) in enumerate(lines.items()):
        values = values.reindex(bars.index)
        fig.add_trace(
            go.Scatter(
                x=values.index,
                y=values.to_numpy(dtype="float64"),
                mode="lines",
                name=label,
                line=dict(color=LINE_COLORS[k % len(LINE_COLORS)], width=1.3),
                connectgaps=False,
                hovertemplate=f"{label} %{{y:.4g}}<extra></extra>",
            ),
            row=1 if panel == "price" else 2 + panels.index(panel),
            col=1,
        )
    for r, panel in enumerate(panels, start=2):
        fig.update_yaxes(title_text=panel, row=r, col=1)
    if trades is not None and not trades.empty:
        trades = trades.sort_values("entry_time").reset_index(drop=True)
        _trade_traces(fig, bars, trades, stops or {}, entry_at_open)
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
            row=len(heights),
            col=1,
        )
        fig.update_yaxes(title_text="volume", row=len(heights), col=1)
    height = 460 + 150 * len(panels) + (100 if has_volume else 0)
    _layout(fig, f"{symbol} price" if symbol else "Price", height=height, hovermode="closest")
    fig.update_xaxes(rangeslider=dict(visible=False))
    fig.update_xaxes(rangeselector=_range_selector(), row=1, col=1)
    return themed(fig, theme)


def _trade_traces(
    fig: go.Figure, bars: pd.DataFrame, trades: pd.DataFrame, stops: Mapping[str, StopSpec], entry_at_open: bool
) -> None:
    """Entry and exit markers (a hover per trade) and each trade's stop levels, on the price panel."""
    hover = trade_hover(trades)
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
            customdata=hover,
            hovertemplate=TRADE_HOVER,
        ),
        row=1,
        col=1,
    )
    closed = (trades["exit_reason"].astype(str) != "open").to_numpy()
    if closed.any():
        done = trades[closed]
        fig.add_trace(
            go.Scatter(
                x=done["exit_time"],
                y=done["exit_price"],
                mode="markers",
                name="Exit",
                marker=dict(
                    symbol="x",
                    size=10,
                    color=np.where(done["pnl"].to_numpy(dtype="float64") >= 0, GAIN, LOSS),
                    line=dict(width=1, color=NEUTRAL),
                ),
                customdata=hover[closed],
                hovertemplate=TRADE_HOVER,
            ),
            row=1,
            col=1,
        )
    for kind, (xs, ys) in _stop_segments(trades, stops).items():
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=kind.replace("_", " "),
                line=dict(color=LOSS if kind == "stop_loss" else GAIN, width=1, dash="dot"),
                hovertemplate=f"{kind.replace('_', ' ')} %{{y:.4g}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    trailing = _trailing_segments(bars, trades, stops.get("trailing_stop"), entry_at_open)
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
