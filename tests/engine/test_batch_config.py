"""Batch YAML files: valid files expand into the right jobs; every malformed file names its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.batch import BatchConfigError, JobSpec, load_batch, parse_batch
from engine.config import BacktestConfig, Costs
from engine.errors import ConfigError

pytestmark = pytest.mark.usefixtures("home")  # a private workspace (tests/conftest.py)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def _issue(tmp_path: Path, name: str, text: str):
    path = _write(tmp_path, name, text)
    with pytest.raises(BatchConfigError) as info:
        load_batch(path)
    assert str(path) in str(info.value)  # the file is named
    return info.value.issues


# (file name, YAML, expected (line, field) of the first issue, a word the message must hold)
MALFORMED = [
    (
        "syntax.yaml",
        """
        name: broken
        jobs:
          - strategy: sma_cross
            symbols: [SPY, QQQ
            params: {fast: 10}
        """,
        (5, "(syntax)"),
        "malformed YAML",
    ),
    (
        "unknown_field.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
          - strategy: sma_cross
            symbols: [SPY]
            config:
              costs:
                comission_bps: 5
        """,
        (8, "jobs[1].config.costs.comission_bps"),
        "unknown field",
    ),
    (
        "wrong_type.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
            config:
              initial_cash: a lot
        """,
        (5, "jobs[0].config.initial_cash"),
        "valid number",
    ),
    (
        "missing_strategy.yaml",
        """
        defaults:
          start: 2015-01-01
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
          - symbols: [QQQ]
            params: {fast: 5}
        """,
        (6, "jobs[1].strategy"),
        "required",
    ),
    (
        "unknown_strategy.yaml",
        """
        jobs:
          - strategy: sma_crosss
            symbols: [SPY]
        """,
        (2, "jobs[0].strategy"),
        "sma_crosss",
    ),
    (
        "bad_param_value.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
            params:
              fast: ten
              slow: 50
        """,
        (5, "jobs[0].params.fast"),
        "'ten'",
    ),
    (
        "fast_ge_slow.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
          - strategy: ema_cross
            symbols: [SPY]
            params: {fast: 60, slow: 30}
        """,
        (6, "jobs[1].params"),
        "fast",
    ),
    (
        "empty_jobs.yaml",
        """
        name: nothing
        jobs: []
        """,
        (2, "jobs"),
        "empty",
    ),
    (
        "matrix_unknown_strategy.yaml",
        """
        matrix:
          strategies:
            - sma_cross
            - {strategy: no_such_strategy, params: {x: 1}}
          symbols: [[SPY], [QQQ, IWM]]
        """,
        (4, "matrix.strategies[1].strategy"),
        "no_such_strategy",
    ),
    (
        "bad_default.yaml",
        """
        defaults:
          config:
            fill: tomorrow
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
        """,
        (3, "defaults.config.fill"),
        "next_open",
    ),
    (
        "unknown_symbol.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY, NOPE_XYZ]
        """,
        (3, "jobs[0].symbols[1]"),
        "NOPE_XYZ",
    ),
    (
        "bad_range.yaml",
        """
        jobs:
          - kind: optimize
            strategy: sma_cross
            symbols: [SPY]
            optimize:
              ranges:
                fast: [5, 10]
                slowness: [50, 100]
        """,
        (8, "jobs[0].optimize.ranges.slowness"),
        "unknown parameter",
    ),
    (
        "walkforward_window.yaml",
        """
        jobs:
          - kind: walkforward
            strategy: sma_cross
            symbols: [SPY]
            walkforward: {in_sample: 3 years, out_of_sample: 1Y}
        """,
        (5, "jobs[0].walkforward.in_sample"),
        "window length",
    ),
    (
        "word_date.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
            start: yesterday
        """,
        (4, "jobs[0].start"),
        "'yesterday' is not a date: use YYYY-MM-DD",
    ),
    (
        "empty_grid.yaml",
        """
        jobs:
          - kind: optimize
            strategy: sma_cross
            symbols: [SPY]
            optimize:
              ranges:
                fast: [60]
                slow: [10]
        """,
        (6, "jobs[0].optimize.ranges"),
        "no valid parameter set in the grid: fast (60) must be shorter than slow (10)",
    ),
    (
        "empty_default_grid.yaml",
        """
        jobs:
          - kind: walkforward
            strategy: sma_cross
            symbols: [SPY]
            params: {slow: 5}
            walkforward: {in_sample: 2Y, out_of_sample: 1Y}
        """,
        (5, "jobs[0].params"),
        "no valid parameter set in the grid",
    ),
    (
        "impossible_month.yaml",
        """
        jobs:
          - strategy: sma_cross
            symbols: [SPY]
            start: 2020-13-45
        """,
        (4, "jobs[0].start"),
        "'2020-13-45' is not a valid date: month must be in 1..12",
    ),
    (
        "impossible_day.yaml",
        """
        defaults:
          start: 2015-01-01
          end: 2020-02-30
        jobs:
          - {strategy: sma_cross, symbols: [SPY]}
        """,
        (3, "defaults.end"),
        "'2020-02-30' is not a valid date: day is out of range for month",
    ),
]


@pytest.mark.parametrize("name,text,where,word", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_name_line_and_field(
    tmp_path: Path, name: str, text: str, where: tuple[int, str], word: str
) -> None:
    issues = _issue(tmp_path, name, text)
    first = issues[0]
    assert (first.line, first.field) == where, issues
    assert word.lower() in first.message.lower()
    assert str(first).startswith(f"{tmp_path / name}, line {where[0]}, field {where[1]}:")


def test_every_problem_is_reported_once(tmp_path: Path) -> None:
    issues = _issue(
        tmp_path,
        "many.yaml",
        """
        defaults:
          config: {fill: never}
        jobs:
          - {strategy: sma_cross, symbols: [SPY]}
          - {strategy: bogus, symbols: [SPY]}
        """,
    )
    # the bad default is written once (line 2) though both jobs inherit it; job 1's strategy is checked only
    # once its structure is valid
    assert [(i.line, i.field) for i in issues] == [(2, "defaults.config.fill")]


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_batch(tmp_path / "nope.yaml")
    issues = _issue(tmp_path, "empty.yaml", "\n")
    assert issues[0].field == "jobs" and "empty" in issues[0].message


def test_defaults_jobs_and_matrix_expand(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "ok.yaml",
        """
        name: demo
        defaults:
          start: 2015-01-01
          end: 2020-12-31
          config:
            costs: {commission_bps: 5, slippage_bps: 1}
        jobs:
          - name: first
            strategy: sma_cross
            symbols: SPY, qqq
            params: {fast: 10, slow: 50}
            config:
              costs: {commission_bps: 2}
          - kind: optimize
            strategy: ema_cross
            symbols: [GLD]
            optimize: {ranges: {fast: [5, 10], slow: [30, 60]}, objective: cagr, method: grid}
        matrix:
          strategies: [rsi_reversion, {strategy: sma_cross, params: {fast: 20, slow: 100}}]
          symbols: [[SPY], [TLT, GLD]]
          end: 2019-12-31
        """,
    )
    batch = load_batch(path)
    assert batch.name == "demo"
    assert [j.name for j in batch.jobs] == [
        "first",
        "optimize-ema_cross-GLD",
        "backtest-rsi_reversion-SPY",
        "backtest-rsi_reversion-TLT+GLD",
        "backtest-sma_cross-SPY",
        "backtest-sma_cross-TLT+GLD",
    ]
    first = batch.jobs[0]
    assert first.request.symbols == ("SPY", "QQQ")
    assert first.request.start == "2015-01-01" and first.request.end == "2020-12-31"
    # the job's commission overrides the default; the default slippage is kept (deep merge)
    assert first.request.config == BacktestConfig(costs=Costs(commission_bps=2.0, slippage_bps=1.0))
    assert first.request.params == {"fast": 10, "slow": 50}
    opt = batch.jobs[1]
    assert opt.kind == "optimize" and opt.objective == "cagr"
    assert opt.optimize == {"ranges": {"fast": [5, 10], "slow": [30, 60]}, "objective": "cagr", "method": "grid"}
    cell = batch.jobs[5]
    assert (cell.request.strategy, cell.request.symbols, cell.request.end) == (
        "sma_cross",
        ("TLT", "GLD"),
        "2019-12-31",
    )
    assert cell.request.params == {"fast": 20, "slow": 100}
    assert cell.request.config.costs.commission_bps == 5.0
    for job in batch.jobs:
        assert JobSpec.from_dict(job.to_dict()) == job


def test_repeated_names_get_a_suffix() -> None:
    batch = parse_batch(
        "jobs:\n  - {strategy: sma_cross, symbols: [SPY]}\n  - {strategy: sma_cross, symbols: [SPY]}\n",
        check_symbols=False,
    )
    assert [j.name for j in batch.jobs] == ["backtest-sma_cross-SPY", "backtest-sma_cross-SPY#2"]


def test_shipped_batches_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "batches"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        assert load_batch(f).jobs


def test_every_impossible_date_is_reported(tmp_path: Path) -> None:
    issues = _issue(
        tmp_path,
        "dates.yaml",
        """
        jobs:
          - {strategy: sma_cross, symbols: [SPY], start: 2019-02-29}
          - strategy: sma_cross
            symbols: [QQQ]
            start: 2019-01-01
            end: 2019-04-31
        """,
    )
    assert [(i.line, i.field) for i in issues] == [(2, "jobs[0].start"), (6, "jobs[1].end")]
    assert "'2019-04-31' is not a valid date" in issues[1].message


def test_dates_are_normalized_and_a_partly_valid_grid_passes() -> None:
    batch = parse_batch(
        """
defaults: {optimize: {ranges: {fast: [10, 60], slow: [10, 50]}}}
jobs:
  - {kind: optimize, strategy: sma_cross, symbols: [SPY], start: "20150102", end: 2016-03-31}
""",
        check_symbols=False,
    )
    job = batch.jobs[0]
    assert (job.request.start, job.request.end) == ("2015-01-02", "2016-03-31")
    assert job.optimize["ranges"] == {"fast": [10, 60], "slow": [10, 50]}  # 10/50 is valid: the grid is not empty


def test_an_empty_grid_from_defaults_is_reported_where_written(tmp_path: Path) -> None:
    issues = _issue(
        tmp_path,
        "grid_defaults.yaml",
        """
        defaults:
          kind: optimize
          optimize: {ranges: {fast: [50, 60], slow: [20, 40]}}
        jobs:
          - {strategy: sma_cross, symbols: [SPY]}
          - {strategy: ema_cross, symbols: [SPY], optimize: {ranges: {fast: [5], slow: [20]}}}
        """,
    )
    assert [(i.line, i.field) for i in issues] == [(3, "defaults.optimize.ranges")]
    assert "fast (50) must be shorter than slow (20)" in issues[0].message
