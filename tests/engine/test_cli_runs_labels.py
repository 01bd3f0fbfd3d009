"""`ivybt runs rename|tag|note|compare` on a real SQLite workspace file (the CLI's main in this process; compare
once through the console script): names, tags and notes round-trip, `--tag` filters, and compare prints the
registry's labels, pp differences and the configuration diff (values checked against the stored runs)."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.engine.cli_helpers import cli_json


def ivybt(capsys, *args: str) -> tuple[int, str, str]:
    """main(args) in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def ivybt_json(capsys, *args: str) -> dict:
    code, out, err = ivybt(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


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


def test_rename_tag_note_round_trip(two_runs, home, capsys) -> None:
    store, (a, b) = two_runs
    assert ivybt(capsys, "runs", "rename", a[:6], "low fast")[0] == 0
    assert ivybt(capsys, "runs", "tag", a, "momentum", "keep")[0] == 0
    assert ivybt(capsys, "runs", "tag", b, "keep")[0] == 0
    assert ivybt(capsys, "runs", "note", a, "robust to costs")[0] == 0
    shown = ivybt_json(capsys, "runs", "show", a, "--trades", "0")
    assert (shown["name"], shown["tags"], shown["notes"]) == ("low fast", ["keep", "momentum"], "robust to costs")
    again = RunStore(home / "ivybt.db").load(a)  # the file itself holds them
    assert (again.name, again.tags, again.notes) == ("low fast", ("keep", "momentum"), "robust to costs")
    assert [r["id"] for r in ivybt_json(capsys, "runs", "list", "--tag", "momentum")["runs"]] == [a]
    assert sorted(r["id"] for r in ivybt_json(capsys, "runs", "list", "--tag", "keep")["runs"]) == sorted([a, b])
    assert ivybt(capsys, "runs", "tag", a, "momentum", "--remove")[0] == 0
    assert ivybt(capsys, "runs", "rename", a, "")[0] == 0
    again = store.load(a)
    assert again.tags == ("keep",) and again.name is None
    code, _, err = ivybt(capsys, "runs", "tag", a, "a,b")
    assert code != 0 and "'a,b'" in err


@pytest.mark.slow
def test_compare_prints_metrics_differences_and_config(two_runs, home, capsys) -> None:
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
    code, text, err = ivybt(capsys, "runs", "compare", a, b)
    assert code == 0, err
    line = next(x for x in text.splitlines() if x.startswith("Total return (%)"))
    assert f"{total * 100:+.2f} pp" in line
    assert "params.fast" in text and f"common period {start:%Y-%m-%d}" in text
    assert ivybt(capsys, "runs", "compare", a)[0] != 0
