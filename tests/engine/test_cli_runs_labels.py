"""`ivybt runs rename|tag|note|compare` through the console script on a real SQLite workspace file: names, tags
and notes round-trip, `--tag` filters, and compare prints the registry's labels, pp differences and the
configuration diff (values checked against the stored runs)."""

from __future__ import annotations

import pytest

from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.engine.cli_helpers import cli, cli_json


@pytest.fixture
def two_runs(home):
    store = RunStore()  # the workspace file the console script opens (IVYBT_HOME = home)
    ids = []
    for start, end, fast in (("2015-01-01", "2019-12-31", 10), ("2017-06-01", "2021-12-31", 20)):
        req = BacktestRequest(
            strategy="sma_cross", params={"fast": fast, "slow": 50}, symbols=("SPY",), start=start, end=end
        )
        ids.append(store.save(run_request(req), req))
    return store, ids


def test_rename_tag_note_round_trip(two_runs, home) -> None:
    store, (a, b) = two_runs
    assert cli("runs", "rename", a[:6], "low fast", home=home).returncode == 0
    assert cli("runs", "tag", a, "momentum", "keep", home=home).returncode == 0
    assert cli("runs", "tag", b, "keep", home=home).returncode == 0
    assert cli("runs", "note", a, "robust to costs", home=home).returncode == 0
    shown = cli_json("runs", "show", a, "--trades", "0", home=home)
    assert (shown["name"], shown["tags"], shown["notes"]) == ("low fast", ["keep", "momentum"], "robust to costs")
    again = RunStore(home / "ivybt.db").load(a)  # the file itself holds them
    assert (again.name, again.tags, again.notes) == ("low fast", ("keep", "momentum"), "robust to costs")
    assert [r["id"] for r in cli_json("runs", "list", "--tag", "momentum", home=home)["runs"]] == [a]
    assert sorted(r["id"] for r in cli_json("runs", "list", "--tag", "keep", home=home)["runs"]) == sorted([a, b])
    assert cli("runs", "tag", a, "momentum", "--remove", home=home).returncode == 0
    assert cli("runs", "rename", a, "", home=home).returncode == 0
    again = store.load(a)
    assert again.tags == ("keep",) and again.name is None
    bad = cli("runs", "tag", a, "a,b", home=home)
    assert bad.returncode != 0 and "'a,b'" in bad.stderr


def test_compare_prints_metrics_differences_and_config(two_runs, home) -> None:
    store, (a, b) = two_runs
    ra, rb = store.load(a), store.load(b)
    out = cli_json("runs", "compare", a, b, home=home)
    assert out["metrics"][a]["sharpe"] == pytest.approx(ra.result.metrics["sharpe"], rel=1e-12)
    assert out["metrics"][b]["n_trades"] == rb.result.metrics["n_trades"]
    total = rb.result.metrics["total_return"] - ra.result.metrics["total_return"]
    assert out["differences"]["total_return"] == [f"{total * 100:+.2f} pp"]
    assert out["config_diff"]["params.fast"] == ["10", "20"]
    start = max(ra.result.equity.index[0], rb.result.equity.index[0])
    assert out["common_period"][0].startswith(f"{start:%Y-%m-%d}")
    text = cli("runs", "compare", a, b, home=home)
    assert text.returncode == 0, text.stderr
    line = next(x for x in text.stdout.splitlines() if x.startswith("Total return (%)"))
    assert f"{total * 100:+.2f} pp" in line
    assert "params.fast" in text.stdout and f"common period {start:%Y-%m-%d}" in text.stdout
    assert cli("runs", "compare", a, home=home).returncode != 0
