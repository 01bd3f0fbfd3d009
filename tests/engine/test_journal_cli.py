"""`ivybt journal add|list|export|stats` as a user runs them (the console script in a private workspace): an entry
with a screenshot, then listed, exported and summed; bad input (a PNG-named text file, a trade the run does not
have, a state off the scale, --run without --trade) is one line and exit 2, with nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from engine.store.runs import RunStore
from tests.engine.cli_helpers import EXACT, cli, cli_json
from tests.engine.test_journal_store import png_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("journal-cli") / "ws"
    proc = cli(*EXACT, "--start", "2015-01-01", "--end", "2020-12-31", "--save", home=home)
    assert proc.returncode == 0, proc.stderr
    (run_id,) = RunStore(home / "ivybt.db").list()["id"]
    return home, run_id


def test_add_list_export_stats(saved: tuple[Path, str], tmp_path: Path) -> None:
    home, run_id = saved
    trades = RunStore(home / "ivybt.db").load(run_id).result.trades.reset_index(drop=True)
    shot = tmp_path / "setup.png"
    shot.write_bytes(png_bytes())
    before = {e["id"] for e in cli_json("journal", "list", home=home)["entries"]}
    added = cli_json(
        "journal", "add", "--run", run_id[:6], "--trade", "1", "--note", "late entry", "--tag", "fomo",
        "--tag", "gap, news", "--setup", "breakout", "--state", "5", "--screenshot", str(shot), home=home,
    )  # fmt: skip
    assert (added["run_id"], added["trade_index"], added["symbol"]) == (run_id, 1, "SPY")
    assert (added["tags"], added["setup"], added["state"]) == (["fomo", "gap", "news"], "breakout", 5)
    assert (home / "journal" / added["screenshots"][0]).read_bytes() == shot.read_bytes()

    assert added["id"] not in before
    listed = cli_json("journal", "list", "--tag", "GAP", home=home)["entries"]
    assert [e["id"] for e in listed] == [added["id"]]
    assert listed[0]["pnl"] == trades["pnl"].iloc[1]
    assert cli_json("journal", "list", "--setup", "other", home=home)["entries"] == []

    stats = cli_json("journal", "stats", "--by", "state", home=home)
    assert stats["groups"] == [
        {
            "state": "5 euphoric",
            "entries": 1,
            "closed": 1,
            "total_pnl": trades["pnl"].iloc[1],
            "mean_pnl": trades["pnl"].iloc[1],
            "win_rate": float(trades["pnl"].iloc[1] > 0),
            "best": trades["pnl"].iloc[1],
            "worst": trades["pnl"].iloc[1],
        }
    ]

    out = tmp_path / "journal.csv"
    proc = cli("journal", "export", "--format", "csv", "--out", str(out), home=home)
    assert proc.returncode == 0, proc.stderr
    (row,) = [r for r in csv.DictReader(out.open(encoding="utf-8")) if r["id"] == str(added["id"])]
    assert (row["id"], row["notes"], row["tags"], row["state"]) == (
        str(added["id"]),
        "late entry",
        "fomo; gap; news",
        "5",
    )
    md = cli("journal", "export", "--format", "md", home=home).stdout
    assert f"![setup.png](journal/{added['screenshots'][0]})" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trade", "0", "--screenshot", "{fake}"], "screenshot 'fake.png' refused: not an image"),
        (["--trade", "100000"], "there is no trade 100000"),
        (["--trade", "0", "--state", "9"], "must be a whole number in [1, 5]"),
        ([], "--run needs --trade N"),
    ],
)
def test_bad_input_is_one_line_exit_2(saved: tuple[Path, str], tmp_path: Path, args: list[str], message: str) -> None:
    home, run_id = saved
    fake = tmp_path / "fake.png"
    fake.write_text("just text, named like a picture\n")
    before = json.loads(cli("journal", "list", "--json", home=home).stdout)
    proc = cli("journal", "add", "--run", run_id, *[a.format(fake=fake) for a in args], home=home)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert json.loads(cli("journal", "list", "--json", home=home).stdout) == before  # nothing written


def test_fill_and_run_together_is_refused(tmp_path: Path) -> None:
    proc = cli("journal", "add", "--run", "abcd", "--trade", "0", "--fill", "x", home=tmp_path / "ws")
    assert proc.returncode == 2 and "either --run ID --trade N" in proc.stderr
    proc = cli("journal", "add", "--fill", "nope", home=tmp_path / "ws")
    assert proc.returncode == 2 and "no filled order with client_order_id 'nope'" in proc.stderr
