"""The registry: built-ins, user strategy files in a real temporary workspace, broken files, validation."""

from __future__ import annotations

import dataclasses
import importlib
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError, StrategyError
from engine.strategies import registry
from engine.strategies.base import Strategy, param_specs
from tests.engine.test_strategies_common import market, read_csv

EXPECTED_BUILTINS = [
    "buy_and_hold",
    "sma_cross",
    "ema_cross",
    "ema_trend",
    "rsi_reversion",
    "bollinger_rsi",
    "macd",
    "donchian_breakout",
    "momentum_rotation",
    "inverse_vol",
    "momentum_voltarget",
    "pairs",
    "dca",
    "regime_router",
    "portfolio_opt",
]

GOOD = '''
from dataclasses import dataclass
import pandas as pd
from engine.strategies.base import Strategy, param, require

class Above(Strategy):
    """Long while the close is above `level` times the first close (a toy)."""
    name = "my_above"
    description = "toy user strategy"

    @dataclass(frozen=True)
    class Params:
        level: float = param(1.5, 1.0, 3.0, 0.5)
        cap: float = param(1.0, 0.1, 1.0, 0.1)

        def __post_init__(self):
            require(self.level > 0, f"level must be > 0, got {self.level}")

    def target_weights(self, data):
        first = data.close.bfill().iloc[0]
        return (data.close > first * self.params.level).astype(float) * self.params.cap
'''


@pytest.fixture
def workspace(home: Path) -> Path:
    folder = home / "strategies"
    folder.mkdir(parents=True)
    registry.reload()
    return folder


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text))


def test_builtins_are_complete_and_well_formed(workspace: Path) -> None:
    strategies = registry.list_strategies()
    assert list(strategies) == EXPECTED_BUILTINS
    for name, cls in strategies.items():
        assert cls.name == name and cls.description
        assert dataclasses.is_dataclass(cls.Params) and cls.Params.__dataclass_params__.frozen
        for spec in param_specs(cls.Params):
            assert spec.doc, f"{name}.{spec.name} has no doc"
            if spec.choices:
                assert spec.default in spec.choices
            else:
                assert spec.low is not None and spec.high is not None and spec.step
                assert spec.low <= spec.default <= spec.high, f"{name}.{spec.name}"
                assert isinstance(spec.default, spec.type)
    assert registry.load_errors() == {}


def test_user_file_loads_and_runs(workspace: Path) -> None:
    write(workspace, "toy.py", GOOD)
    registry.reload()
    assert "my_above" in registry.list_strategies()
    assert list(registry.list_strategies())[: len(EXPECTED_BUILTINS)] == EXPECTED_BUILTINS
    strat = registry.create_strategy("my_above", {"level": "2", "cap": 0.5})
    assert strat.params.level == 2.0 and strat.params.cap == 0.5
    w = strat.target_weights(market("SPY"))
    c = read_csv("SPY")["close"].to_numpy()
    np.testing.assert_array_equal(w["SPY"].to_numpy(), np.where(c > 2 * c[0], 0.5, 0.0))
    with pytest.raises(ConfigError, match="level must be > 0, got 0.0"):
        registry.create_strategy("my_above", {"level": 0})


def test_new_and_changed_files_are_picked_up_without_reload(workspace: Path) -> None:
    assert "my_above" not in registry.list_strategies()
    write(workspace, "toy.py", GOOD)
    assert "my_above" in registry.list_strategies()
    write(workspace, "toy.py", GOOD.replace('"my_above"', '"my_above_v2"') + "\n# longer now\n")
    os.utime(workspace / "toy.py", ns=(1, 1))  # mtime differs even on coarse file systems
    names = registry.list_strategies()
    assert "my_above_v2" in names and "my_above" not in names
    (workspace / "toy.py").unlink()
    assert "my_above_v2" not in registry.list_strategies()


def test_broken_files_are_reported_by_name_and_the_rest_load(workspace: Path) -> None:
    write(workspace, "good.py", GOOD)
    write(workspace, "syntax.py", "def broken(:\n    pass\n")
    write(workspace, "no_name.py", GOOD.replace('name = "my_above"', "").replace("class Above", "class NoName"))
    write(
        workspace,
        "no_params.py",
        "from engine.strategies.base import Strategy\n"
        "class P(Strategy):\n    name = 'p_no_params'\n    def target_weights(self, data):\n        return data.close * 0\n",
    )
    write(
        workspace,
        "no_weights.py",
        "from dataclasses import dataclass\nfrom engine.strategies.base import Strategy\n"
        "class W(Strategy):\n    name = 'no_weights'\n    @dataclass(frozen=True)\n    class Params:\n        pass\n",
    )
    write(workspace, "clash.py", GOOD.replace('"my_above"', '"sma_cross"'))
    write(workspace, "zz_dupe.py", GOOD)
    write(workspace, "empty.py", "X = 1\n")
    write(workspace, "computed.py", GOOD.replace('"my_above"', '"computed"').replace("param(1.5,", "param(abs(-1.5),"))
    registry.reload()

    names = registry.list_strategies()
    assert "my_above" in names and "sma_cross" in names
    assert names["sma_cross"].__module__ == "engine.strategies.crossover"  # the built-in was not replaced
    for bad in ("p_no_params", "no_weights", "computed"):
        assert bad not in names
    errors = registry.load_errors()
    assert set(errors) == {
        "syntax.py",
        "no_name.py",
        "no_params.py",
        "no_weights.py",
        "clash.py",
        "zz_dupe.py",
        "empty.py",
        "computed.py",
    }
    assert errors["syntax.py"] == "syntax error at line 1: invalid syntax"
    assert errors["no_name.py"] == "class NoName has no `name` (a non-empty string)"
    assert errors["no_params.py"] == "class P ('p_no_params') has no `Params` dataclass"
    assert errors["no_weights.py"] == "class W ('no_weights') does not implement target_weights"
    assert errors["clash.py"] == "class Above: name 'sma_cross' clashes with a built-in strategy"
    assert errors["zz_dupe.py"] == "class Above: name 'my_above' is already defined in good.py"
    assert errors["empty.py"] == "defines no Strategy subclass"
    assert errors["computed.py"].startswith(
        "class Above ('computed'): Params field 'level': its default is not a literal value (abs(-1.5))"
    )


def test_errors_when_a_file_runs_are_errors_of_the_run_naming_file_and_line(workspace: Path) -> None:
    """Listing reads the source only, so what goes wrong when the file runs is told by the run that needs it."""
    write(workspace, "raises.py", GOOD.replace('"my_above"', '"raises"') + "\nraise RuntimeError('boom at import')\n")
    write(workspace, "missing.py", "import not_a_real_module_xyz\n" + GOOD.replace('"my_above"', '"missing"'))
    write(workspace, "bad_default.py", GOOD.replace('"my_above"', '"bad_default"').replace("param(1.5,", "param(-1.0,"))
    registry.reload()
    assert {"raises", "missing", "bad_default"} <= set(registry.list_strategies()) and registry.load_errors() == {}
    line = len(textwrap.dedent(GOOD).splitlines()) + 2
    with pytest.raises(StrategyError) as info:
        registry.create_strategy("raises").target_weights(market("SPY"))
    assert str(info.value) == f"user strategy file raises.py failed to load: RuntimeError (line {line}): boom at import"
    with pytest.raises(
        StrategyError, match=r"missing.py failed to load: ModuleNotFoundError \(line 1\): No module named"
    ):
        registry.create_strategy("missing").target_weights(market("SPY"))
    with pytest.raises(ConfigError, match=r"^level must be > 0, got -1.0$"):
        registry.create_strategy("bad_default")


def test_unknown_name_lists_known_and_failed_files(workspace: Path) -> None:
    with pytest.raises(
        StrategyError, match=r"unknown strategy 'sma_crossover'; known: buy_and_hold, sma_cross, ema_cross"
    ):
        registry.get_strategy("sma_crossover")
    write(workspace, "syntax.py", "def broken(:\n")
    with pytest.raises(StrategyError, match=r"user files that failed to load: syntax.py"):
        registry.create_strategy("nope")


def test_create_strategy_validates_params(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=r"fast \(60\) must be shorter than slow \(50\)"):
        registry.create_strategy("sma_cross", {"fast": 60})
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['window'\]"):
        registry.create_strategy("rsi_reversion", {"window": 3})
    s = registry.create_strategy("donchian_breakout", {"system": "55"})
    assert s.params.system == 55
    assert registry.create_strategy("macd", None).params == registry.get_strategy("macd").Params()


def test_validate_weights(workspace: Path) -> None:
    data = market("SPY", "TLT")
    strat = registry.create_strategy("buy_and_hold")
    good = strat.target_weights(data)
    assert registry.validate_weights(strat, data, good).equals(good)
    with_nan = good.copy()
    with_nan.iloc[5, 1] = np.nan
    assert np.isnan(registry.validate_weights(strat, data, with_nan).iloc[5, 1])  # NaN = no opinion: allowed

    with pytest.raises(StrategyError, match="returned ndarray, expected a pandas DataFrame"):
        registry.validate_weights(strat, data, good.to_numpy())
    with pytest.raises(StrategyError, match=r"shape \(9, 2\), expected \(\d+, 2\)"):
        registry.validate_weights(strat, data, good.head(9))
    with pytest.raises(StrategyError, match=r"columns \['TLT', 'SPY'\], expected \['SPY', 'TLT'\]"):
        registry.validate_weights(strat, data, good[["TLT", "SPY"]])
    shifted = good.set_axis(good.index + pd.Timedelta(hours=1))
    with pytest.raises(StrategyError, match=r"different index: row 0 is Timestamp\('1993-01-29 01:00:00'\)"):
        registry.validate_weights(strat, data, shifted)
    bad = good.copy()
    bad.loc[pd.Timestamp("2005-03-01"), "TLT"] = np.inf
    with pytest.raises(StrategyError, match=r"non-finite weight inf at 2005-03-01 00:00:00 for 'TLT'"):
        registry.validate_weights(strat, data, bad)
    text = good.astype(object)
    text.iloc[0, 0] = "half"
    with pytest.raises(StrategyError, match="non-numeric weights"):
        registry.validate_weights(strat, data, text)


def test_user_subclass_of_builtin_needs_its_own_name(workspace: Path) -> None:
    write(
        workspace,
        "sub.py",
        "from engine.strategies.crossover import SmaCross\nclass Mine(SmaCross):\n    name = 'my_sma'\n",
    )
    registry.reload()
    cls = registry.get_strategy("my_sma")
    assert issubclass(cls, Strategy) and registry.load_errors() == {}
    assert "sma_cross" in registry.list_strategies()  # the imported built-in is not re-registered from sub.py


def test_lazy_registry_entries_name_their_classes_and_match_the_modules_lists():
    """BUILTINS / EVENT_BUILTINS import on demand; each entry is the class of that registry name, and the event
    entries are engine.strategies.event_systems.EVENT_SYSTEMS in its order."""
    from engine.strategies import registry
    from engine.strategies.event_systems import EVENT_SYSTEMS

    for mapping in (registry.BUILTINS, registry.EVENT_BUILTINS):
        for name, cls in mapping.items():
            assert cls.name == name
            assert mapping.path(name) == f"{cls.__module__}:{cls.__name__}"
    assert list(registry.EVENT_BUILTINS.values()) == list(EVENT_SYSTEMS)
    assert "nope" not in registry.BUILTINS and len(registry.BUILTINS) == 15
    with pytest.raises(KeyError):
        registry.BUILTINS["nope"]


def test_engine_data_exports_every_public_name_lazily():
    import engine.data as data

    assert sorted(data.__all__) == sorted(data._HOME)
    for name in data.__all__:
        value = getattr(data, name)
        assert getattr(importlib.import_module(f"engine.data.{data._HOME[name]}"), name) is value
    with pytest.raises(AttributeError):
        data.no_such_name  # noqa: B018


def test_validated_params_are_built_once_per_distinct_set_and_never_shared_when_mutable() -> None:
    """make_params memoizes a frozen Params per (name, type, value) set: the same set is the same object, a value of
    another type is validated on its own (10 and "10" both give fast=10, 10.5 is refused every time), and an
    unfrozen Params (a user class may declare one) is built fresh on every call."""
    from engine.strategies.base import make_params

    cls = registry.strategy_class("sma_cross")
    first = make_params(cls.Params, {"fast": 10, "slow": 50})
    assert make_params(cls.Params, {"fast": 10, "slow": 50}) is first
    from_text = make_params(cls.Params, {"fast": "10", "slow": "50"})
    assert from_text == first and from_text is not first and from_text.fast == 10 and type(from_text.fast) is int
    for _ in range(2):
        with pytest.raises(ConfigError, match="'fast': 10.5 is not a valid int"):
            make_params(cls.Params, {"fast": 10.5, "slow": 50})
    messages = set()
    for _ in range(2):  # a cross-field refusal (kept by set after the first) reads the same the second time
        with pytest.raises(ConfigError) as refused:
            make_params(cls.Params, {"fast": 60, "slow": 50})
        messages.add(str(refused.value))
    assert len(messages) == 1 and "fast" in messages.pop()
    assert make_params(cls.Params, {"fast": 40, "slow": 50}).fast == 40  # its neighbour is still built

    @dataclasses.dataclass
    class Mutable:
        n: int = 1

    a, b = make_params(Mutable, {"n": 2}), make_params(Mutable, {"n": 2})
    assert a == b and a is not b
