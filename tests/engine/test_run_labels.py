"""Names, tags and notes of saved runs: stored, read back, filtered by tag, removed with the run, and a database
of the old schema (version 1, before tags and notes) opens with every run intact and gains them."""

from __future__ import annotations

import sqlite3

import pytest

from engine.errors import ConfigError
from engine.request import BacktestRequest, run_request
from engine.store.runs import RUNS_MIGRATIONS, RunStore


def _request(start: str = "2019-01-01") -> BacktestRequest:
    return BacktestRequest(
        strategy="sma_cross", params={"fast": 10, "slow": 30}, symbols=("SPY",), start=start, end="2020-12-31"
    )


@pytest.fixture(scope="module")
def result():
    return run_request(_request())


def test_name_tags_notes_round_trip(tmp_path, result) -> None:
    store = RunStore(tmp_path / "runs.db")
    run_id = store.save(result, _request(), name="first try")
    other = store.save(result, _request())
    assert store.load(run_id).name == "first try" and store.load(other).name is None
    assert store.load(run_id).tags == () and store.load(run_id).notes == ""

    assert store.rename(run_id[:6], "  keeper  ") == run_id
    store.tag(run_id, ["momentum", "spy", "momentum"])
    store.tag(other, ["spy"])
    store.set_notes(run_id, "fast 10 looks robust;\nrecheck with costs")
    got = store.load(run_id)
    assert (got.name, got.tags, got.notes) == (
        "keeper",
        ("momentum", "spy"),
        "fast 10 looks robust;\nrecheck with costs",
    )

    store.tag(run_id, ["spy"], remove=True)
    assert store.load(run_id).tags == ("momentum",)
    assert list(store.list(tag="momentum")["id"]) == [run_id]
    assert list(store.list(tag="spy")["id"]) == [other]
    listed = store.list().set_index("id")
    assert listed.loc[run_id, "tags"] == "momentum" and listed.loc[run_id, "notes"].startswith("fast 10")
    assert store.all_tags() == ["momentum", "spy"]

    store.set_tags(run_id, ["a", "b"])
    assert store.load(run_id).tags == ("a", "b")
    store.rename(run_id, "")
    assert store.load(run_id).name is None

    store.delete(run_id)  # its tags go with it
    conn = sqlite3.connect(tmp_path / "runs.db")
    assert conn.execute("SELECT COUNT(*) FROM run_tags WHERE run_id = ?", (run_id,)).fetchone()[0] == 0


@pytest.mark.parametrize("bad", ["", "   ", "a,b", "x" * 65])
def test_bad_tag_is_refused_with_its_value(tmp_path, result, bad) -> None:
    store = RunStore(tmp_path / "runs.db")
    run_id = store.save(result, _request())
    with pytest.raises(ConfigError, match="tag"):
        store.tag(run_id, [bad])
    assert store.load(run_id).tags == ()


def test_old_schema_database_opens_with_nothing_lost(tmp_path, result) -> None:
    new = tmp_path / "new.db"
    run_id = RunStore(new).save(result, _request(), name="from v1")
    # a version-1 database holding the same run: the old schema, the rows copied column by column
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    conn.executescript(RUNS_MIGRATIONS[0])
    conn.execute("INSERT INTO schema_version VALUES ('runs', 1)")
    conn.execute("ATTACH DATABASE ? AS src", (str(new),))
    v1_columns = [r[1] for r in conn.execute("PRAGMA main.table_info(runs)")]
    assert "notes" not in v1_columns
    cols = ", ".join(v1_columns)
    conn.execute(f"INSERT INTO main.runs ({cols}) SELECT {cols} FROM src.runs")
    conn.execute("INSERT INTO main.run_symbols SELECT * FROM src.run_symbols")
    conn.execute("INSERT INTO main.run_frames SELECT * FROM src.run_frames")
    conn.commit()
    conn.execute("DETACH DATABASE src")
    conn.close()

    store = RunStore(old)  # migrates to version 2
    version = sqlite3.connect(old).execute("SELECT version FROM schema_version WHERE component = 'runs'").fetchone()
    assert version == (2,)
    got, want = store.load(run_id), RunStore(new).load(run_id)
    assert got.name == "from v1" and got.tags == () and got.notes == ""
    assert got.request == want.request and got.key == want.key
    assert got.result.equity.equals(want.result.equity) and got.result.trades.equals(want.result.trades)
    assert got.result.metrics == want.result.metrics
    store.tag(run_id, ["migrated"])
    store.set_notes(run_id, "kept")
    assert (store.load(run_id).tags, store.load(run_id).notes) == (("migrated",), "kept")
