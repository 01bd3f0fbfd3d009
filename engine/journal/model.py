"""What one journal entry is: the trade it describes (a backtest trade or a live fill), the person's notes, tags,
setup and emotional state, and its screenshots; the emotional scale; the checks every writer goes through.

The emotional state is a 1-5 scale read at the time of the trade, fear on the left and greed on the right, with
3 the disciplined middle (`STATES`). A backtest trade is keyed by its run id and its row in the run's trade list
(the symbol and entry time are kept to show and to check it is the same trade); a live fill by broker and
client_order_id (the id IvyBT gives every order it sends, the key of the audit log's order results).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import ConfigError

STATES: dict[int, str] = {
    1: "fearful",
    2: "anxious",
    3: "calm",
    4: "confident",
    5: "euphoric",
}
"""The emotional scale: 1 fearful (afraid to lose, hesitating), 2 anxious, 3 calm (following the plan), 4 confident,
5 euphoric (sure it cannot go wrong). Both ends are the states a trader wants to notice."""

KINDS: tuple[str, ...] = ("backtest", "live")
MAX_TAG = 64
MAX_SETUP = 100
MAX_NOTES = 20_000


def state_label(state: int | None) -> str:
    """ "3 calm" for 3; "" for no state."""
    return "" if state is None else f"{state} {STATES[state]}"


@dataclass(frozen=True)
class Target:
    """The trade an entry describes. kind "backtest": run_id + trade_index (row of the run's trade list);
    kind "live": broker + fill_id (the order's client_order_id), account_id when known."""

    kind: Literal["backtest", "live"]
    run_id: str = ""
    trade_index: int | None = None
    broker: str = ""
    account_id: str = ""
    fill_id: str = ""

    def key(self) -> str:
        """One text naming the trade: "backtest:<run id>:<row>" or "live:<broker>:<client_order_id>"."""
        if self.kind == "backtest":
            return f"backtest:{self.run_id}:{self.trade_index}"
        return f"live:{self.broker}:{self.fill_id}"

    def describe(self) -> str:
        if self.kind == "backtest":
            return f"run {self.run_id[:8]} trade {self.trade_index}"
        return f"{self.broker} fill {self.fill_id}"


def backtest_target(run_id: str, trade_index: int) -> Target:
    run = str(run_id).strip()
    if not run:
        raise ConfigError("journal: a backtest entry needs a run id")
    if isinstance(trade_index, bool) or int(trade_index) != trade_index or int(trade_index) < 0:
        raise ConfigError(f"journal: trade index {trade_index!r} must be a whole number >= 0")
    return Target("backtest", run_id=run, trade_index=int(trade_index))


def live_target(broker: str, fill_id: str, account_id: str = "") -> Target:
    name, fill = str(broker).strip(), str(fill_id).strip()
    if not name or not fill:
        raise ConfigError(f"journal: a live entry needs a broker and a fill id (got {broker!r}, {fill_id!r})")
    return Target("live", broker=name, fill_id=fill, account_id=str(account_id or "").strip())


def clean_tags(tags: Iterable[str] | None) -> tuple[str, ...]:
    """Tags trimmed, empty ones dropped, duplicates removed (first spelling kept, case-insensitive), in order;
    "a, b" and "a; b" are two tags (so a tag never holds the separators of an export's tag cell)."""
    out: dict[str, str] = {}
    for raw in tags or ():
        for part in str(raw).replace(";", ",").split(","):
            tag = part.strip()
            if not tag:
                continue
            if len(tag) > MAX_TAG:
                raise ConfigError(f"journal: tag {tag[:20]!r}... is longer than {MAX_TAG} characters")
            out.setdefault(tag.lower(), tag)
    return tuple(out.values())


def clean_setup(setup: str | None) -> str:
    text = " ".join(str(setup or "").split())
    if len(text) > MAX_SETUP:
        raise ConfigError(f"journal: setup {text[:20]!r}... is longer than {MAX_SETUP} characters")
    return text


def clean_state(state: Any) -> int | None:
    """None, or an int in STATES (a ConfigError names the value and the scale otherwise)."""
    if state is None or state == "":
        return None
    try:
        value = int(state)
    except (TypeError, ValueError):
        value = -1
    if isinstance(state, bool) or value not in STATES or (isinstance(state, float) and state != value):
        scale = ", ".join(f"{k} {v}" for k, v in STATES.items())
        raise ConfigError(f"journal: emotional state {state!r} is not on the scale {scale}")
    return value


def clean_notes(notes: str | None) -> str:
    text = str(notes or "").strip()
    if len(text) > MAX_NOTES:
        raise ConfigError(f"journal: notes of {len(text)} characters are over the limit of {MAX_NOTES}")
    return text


@dataclass(frozen=True)
class Screenshot:
    """One stored screenshot: its file relative to the journal folder, the uploaded name, bytes and format."""

    path: str
    name: str
    size: int
    format: str


@dataclass(frozen=True)
class Entry:
    """One journal entry as stored. symbol and trade_time (ISO: the trade's entry time, or the fill's time) are
    copied from the trade when it was journaled, for showing and for the chart markers."""

    id: int
    target: Target
    symbol: str
    trade_time: str
    notes: str = ""
    tags: tuple[str, ...] = ()
    setup: str = ""
    state: int | None = None
    screenshots: tuple[Screenshot, ...] = field(default=())
    created_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON, CSV rows): the target's fields flattened, tags and screenshot paths as lists."""
        t = self.target
        return {
            "id": self.id,
            "kind": t.kind,
            "run_id": t.run_id,
            "trade_index": t.trade_index,
            "broker": t.broker,
            "account_id": t.account_id,
            "fill_id": t.fill_id,
            "symbol": self.symbol,
            "trade_time": self.trade_time,
            "notes": self.notes,
            "tags": list(self.tags),
            "setup": self.setup,
            "state": self.state,
            "screenshots": [s.path for s in self.screenshots],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
