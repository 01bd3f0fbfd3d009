"""Presets: a named, saved backtest setup as JSON in `presets/<name>.json` (DESIGN §5).

A preset holds everything a `BacktestRequest` needs (strategy, params, symbols, dates, costs, risk and the
other `BacktestConfig` fields) plus a description, its creation time and, after universe selection, the
kept symbol list. Presets are validated on load against the strategy's `Params` (a weights strategy, or an event
strategy of engine.strategies.registry.EVENT_BUILTINS: what `ivybt live` runs) and `BacktestConfig`; an
invalid preset raises `ConfigError` naming the preset and the field. Writes are atomic (temp file +
`os.replace`). Secrets are never stored: keys that look like credentials are refused on save and on load.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, Field, StrictStr, create_model

from engine.config import BacktestConfig, Costs, Risk
from engine.errors import ConfigError, EngineError
from engine.request import BacktestRequest
from engine.sim.event.settings import Execution
from engine.store.watchlists import expand_symbols
from engine.store.workspace import presets_dir
from engine.strategies.base import make_params
from engine.strategies.registry import EVENT_BUILTINS, get_strategy, is_event_strategy
from engine.validation import FORBID, parse, section_model

SCHEMA_VERSION = 1
REQUIRED_FIELDS: tuple[str, ...] = ("schema_version", "strategy", "params", "symbols")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SECRET_RE = re.compile(
    r"(api[_-]?key|apikey|secret|passw(or)?d|passphrase|token|private[_-]?key|credential)", re.IGNORECASE
)


@dataclasses.dataclass(frozen=True)
class Preset:
    """One saved backtest setup (the JSON layout of DESIGN §5, schema version 1).

    start/end: ISO dates (inclusive) or None for the whole history. costs / risk / config: plain mappings of
    `Costs`, `Risk` and the remaining `BacktestConfig` fields (initial_cash, fill, fractional, rebalance, ...);
    fields left out take their defaults. universe: the symbols kept by universe selection (None = not run);
    when set, `to_request()` trades those instead of `symbols`. data_source: None (default source) or a
    folder of CSV/Parquet files. created_at: ISO-8601 UTC timestamp. A `symbols` item `watchlist: NAME` stands for
    that saved watchlist's symbols (engine.store.watchlists), resolved when the preset is loaded.
    """

    name: str
    strategy: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    costs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    risk: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""
    created_at: str = ""
    universe: tuple[str, ...] | None = None
    data_source: str | None = None
    schema_version: int = SCHEMA_VERSION
    timeframe: str | None = None
    mode: str | None = None
    execution: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        symbols = expand_symbols(tuple(self.symbols))  # "watchlist: NAME" -> its symbols, when loaded
        object.__setattr__(self, "symbols", tuple(str(s).strip().upper() for s in symbols))
        if self.universe is not None:
            object.__setattr__(self, "universe", tuple(str(s).strip().upper() for s in self.universe))
        for name in ("params", "costs", "risk", "config"):
            object.__setattr__(self, name, dict(getattr(self, name) or {}))
        if not self.created_at:
            object.__setattr__(self, "created_at", _now())

    def backtest_config(self) -> BacktestConfig:
        """The `BacktestConfig` this preset describes (raises ConfigError naming the bad field)."""
        return BacktestConfig.from_dict({**self.config, "costs": self.costs, "risk": self.risk})

    def to_request(self, use_universe: bool = True) -> BacktestRequest:
        """The backtest this preset describes; the kept `universe` replaces `symbols` when set and wanted."""
        symbols = self.universe if (use_universe and self.universe) else self.symbols
        return BacktestRequest(
            strategy=self.strategy,
            params=dict(self.params),
            symbols=tuple(symbols),
            start=self.start,
            end=self.end,
            config=self.backtest_config(),
            data_source=self.data_source,
            timeframe=self.timeframe,
            mode=self.mode,  # type: ignore[arg-type]  # checked by BacktestRequest's validation
            execution=Execution(**self.execution) if self.execution is not None else None,
        )

    @classmethod
    def from_request(
        cls,
        name: str,
        request: BacktestRequest,
        description: str = "",
        universe: tuple[str, ...] | list[str] | None = None,
    ) -> Preset:
        """A preset that reproduces `request` (costs, risk and the other config fields spelled out in full)."""
        cfg = request.config.to_dict()
        return cls(
            name=name,
            strategy=request.strategy,
            params=dict(request.params),
            symbols=request.symbols,
            start=request.start,
            end=request.end,
            costs=cfg.pop("costs"),
            risk=cfg.pop("risk"),
            config=cfg,
            description=description,
            universe=tuple(universe) if universe else None,
            data_source=request.data_source,
            timeframe=request.timeframe,
            mode=request.mode,
            execution=dataclasses.asdict(request.execution) if request.execution is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout (schema_version first)."""
        d = dataclasses.asdict(self)
        d["symbols"] = list(self.symbols)
        d["universe"] = list(self.universe) if self.universe is not None else None
        order = [
            "schema_version",
            "name",
            "description",
            "strategy",
            "params",
            "symbols",
            "universe",
            "start",
            "end",
            "costs",
            "risk",
            "config",
            "data_source",
            "created_at",
        ]
        out = {k: d[k] for k in order}
        for optional in ("timeframe", "mode", "execution"):  # only when set: older files stay as they were
            if d[optional] is not None:
                out[optional] = d[optional]
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], name: str | None = None) -> Preset:
        """Build and validate from the JSON layout; errors name the preset and the field."""
        label = name or (str(values.get("name") or "?") if isinstance(values, Mapping) else "?")
        if not isinstance(values, Mapping):
            raise ConfigError(f"preset {label!r}: expected a JSON object, got {type(values).__name__}")
        _refuse_secrets(values, f"preset {label!r}")
        if "schema_version" in values and values["schema_version"] != SCHEMA_VERSION:
            raise ConfigError(
                f"preset {label!r}: field 'schema_version' is {values['schema_version']!r}; "
                f"this version of IvyBT reads schema_version {SCHEMA_VERSION}"
            )
        parse(_layout(), values, f"preset {label!r}")
        kwargs = dict(values)
        kwargs["name"] = name or str(values.get("name") or "")
        for key in ("params", "costs", "risk", "config"):
            if kwargs.get(key) is None:
                kwargs[key] = {}
        preset = cls(**kwargs)
        preset.validate()
        return preset

    def validate(self) -> None:
        """Check name, strategy, params, config sections and dates; ConfigError names preset and field."""
        label = f"preset {self.name!r}"
        _refuse_secrets(self.to_dict(), label)
        parse(_layout(), self.to_dict(), label)
        try:
            cls = EVENT_BUILTINS[self.strategy] if is_event_strategy(self.strategy) else get_strategy(self.strategy)
        except EngineError as e:
            raise ConfigError(f"{label}: field 'strategy': {e}") from None
        try:
            make_params(cls.Params, self.params)
        except EngineError as e:
            raise ConfigError(f"{label}: field 'params': {e}") from None
        try:
            self.to_request(use_universe=False)
            if self.universe:
                self.to_request(use_universe=True)
        except EngineError as e:
            raise ConfigError(f"{label}: {e}") from None


@functools.cache
def _layout() -> type[BaseModel]:
    """The model of a preset file: `Preset`'s fields, with the costs / risk / config sections checked by the
    types of `Costs`, `Risk` and the other `BacktestConfig` fields (unknown fields, types and bounds), and the event
    mode's `execution` by `Execution`."""
    sections: dict[str, Any] = {
        "execution": Execution,
        "mode": Literal["vectorized", "event"],
        "costs": Costs,
        "risk": Risk,
        "config": section_model(BacktestConfig, "PresetConfig", exclude=("costs", "risk")),
        "symbols": Annotated[tuple[StrictStr, ...], Field(min_length=1)],
        "strategy": StrictStr,
    }
    hints = get_type_hints(Preset)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(Preset):
        typ = sections.get(f.name, hints[f.name])
        if f.name in REQUIRED_FIELDS:
            fields[f.name] = (typ, ...)
        else:
            fields[f.name] = (typ | None, None)
    model: type[BaseModel] = create_model("PresetFile", __config__=FORBID, **fields)
    return model


def load_preset(name_or_path: str | os.PathLike[str]) -> Preset:
    """Load and validate a preset by name (from `presets_dir()`) or by path to a `.json` file.

    Raises ConfigError naming the preset: not found (lists the available ones), malformed JSON (line and
    column), wrong schema_version, missing field, unknown strategy, bad parameter or config value.
    """
    path = _resolve(name_or_path)
    label = path.stem
    if not path.is_file():
        available = list_presets()
        raise ConfigError(
            f"preset {str(name_or_path)!r} not found in {path.parent}; available: "
            f"{', '.join(available) if available else 'none'}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"preset {label!r}: cannot read {path}: {e}") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"preset {label!r}: malformed JSON in {path} at line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None
    return Preset.from_dict(values, name=label)


def save_preset(preset: Preset, overwrite: bool = False) -> Path:
    """Validate and write `presets_dir()/<name>.json` atomically (temp file + os.replace); returns the path.

    The name must be a safe file stem (letters, digits, `_`, `-`, `.`; at most 64 characters). An existing
    preset is only replaced with `overwrite=True`.
    """
    check_name(preset.name)
    preset.validate()
    folder = presets_dir()
    path = folder / f"{preset.name}.json"
    if path.exists() and not overwrite:
        raise ConfigError(f"preset {preset.name!r} already exists at {path}; choose another name or overwrite it")
    text = json.dumps(preset.to_dict(), indent=2, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{preset.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def list_presets() -> list[str]:
    """Names of the presets in `presets_dir()`, sorted (not validated: `load_preset` does that)."""
    return sorted(p.stem for p in presets_dir().glob("*.json") if not p.name.startswith("."))


def delete_preset(name: str) -> None:
    """Remove `presets_dir()/<name>.json`; an unknown name raises ConfigError."""
    check_name(name)
    path = presets_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"preset {name!r} not found in {path.parent}")
    path.unlink()


def check_name(name: str) -> None:
    """Raise ConfigError unless `name` is a safe file stem for a preset."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise ConfigError(
            f"preset name {name!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
            f"starting with a letter or digit"
        )


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    text = os.fspath(name_or_path)
    if text.endswith(".json") or os.sep in text or (os.altsep and os.altsep in text):
        return Path(text).expanduser()
    check_name(text)
    return presets_dir() / f"{text}.json"


def _refuse_secrets(values: Any, label: str, path: str = "") -> None:
    """Raise ConfigError if any mapping key (at any depth) looks like a credential."""
    if isinstance(values, Mapping):
        for k, v in values.items():
            where = f"{path}.{k}" if path else str(k)
            if _SECRET_RE.search(str(k)):
                raise ConfigError(
                    f"{label}: field {where!r} looks like a secret; presets never store credentials "
                    f"(brokers read keys from the environment)"
                )
            _refuse_secrets(v, label, where)
    elif isinstance(values, (list, tuple)):
        for i, v in enumerate(values):
            _refuse_secrets(v, label, f"{path}[{i}]")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
