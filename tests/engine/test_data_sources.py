"""Sources (folder, bundled, workspace, combined), get_source, imports into the workspace and their deletion."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.data import (
    BundledSource,
    CombinedSource,
    DataSource,
    FolderSource,
    WorkspaceSource,
    available_symbols,
    delete_imported,
    get_source,
    import_files,
    load_market_data,
)
from engine.errors import DataError
from tests.engine.conftest_data import good_csv, write


def test_folder_source_symbols_are_upper_cased_stems(tmp_path: Path) -> None:
    good_csv(tmp_path / "spy.csv")
    good_csv(tmp_path / "BTC-USD.csv")
    df = pd.DataFrame(
        {"open": [1.0], "high": [2.0], "low": [0.5], "close": [1.5], "volume": [1.0]},
        index=pd.DatetimeIndex(["2020-01-02"], name="date"),
    )
    df.to_parquet(tmp_path / "Tlt.parquet")
    write(tmp_path / "notes.txt", "not data")
    write(tmp_path / ".hidden.csv", "junk")
    src = FolderSource(tmp_path)
    assert isinstance(src, DataSource)
    assert src.symbols() == ["BTC-USD", "SPY", "TLT"]
    assert src.load("spy")["close"].tolist() == [10.0, 11.0, 12.0]
    assert src.load("TLT")["close"].tolist() == [1.5]


def test_folder_source_unknown_symbol_suggests_close_matches(tmp_path: Path) -> None:
    for s in ("SPY", "QQQ", "IWM"):
        good_csv(tmp_path / f"{s}.csv")
    with pytest.raises(DataError, match=r"unknown symbol 'SPYY' .*\(3 symbols available\); did you mean SPY\?"):
        FolderSource(tmp_path).load("SPYY")
    with pytest.raises(DataError, match=r"unknown symbol 'ZZZZ' .*\(3 symbols available\)$"):
        FolderSource(tmp_path).load("ZZZZ")


def test_folder_source_two_files_for_one_symbol(tmp_path: Path) -> None:
    good_csv(tmp_path / "SPY.csv")
    FolderSource(tmp_path).load("SPY").to_parquet(tmp_path / "spy.parquet")
    with pytest.raises(DataError, match=r"'SPY' is ambiguous .*\['SPY\.csv', 'spy\.parquet'\]"):
        FolderSource(tmp_path).load("SPY")


def test_folder_source_sees_new_files(tmp_path: Path) -> None:
    src = FolderSource(tmp_path)
    assert src.symbols() == []
    good_csv(tmp_path / "AAA.csv")
    assert src.symbols() == ["AAA"]


def test_fingerprint_changes_when_file_changes(tmp_path: Path) -> None:
    path = good_csv(tmp_path / "SPY.csv")
    src = FolderSource(tmp_path)
    before = src.fingerprint("SPY")
    good_csv(path, rows=4)
    assert src.fingerprint("SPY") != before


def test_get_source_specs(tmp_path: Path, home: Path) -> None:
    assert isinstance(get_source("bundled"), BundledSource)
    assert isinstance(get_source("workspace"), WorkspaceSource)
    combined = get_source(None)
    assert isinstance(combined, CombinedSource)
    assert [s.name for s in combined.sources] == ["workspace", "bundled"]
    folder = get_source(str(tmp_path))
    assert isinstance(folder, FolderSource) and folder.path == tmp_path.resolve()
    assert get_source(folder) is folder
    with pytest.raises(DataError, match=r"data folder not found: .*missing"):
        get_source(tmp_path / "missing")
    with pytest.raises(DataError, match=r"data folder expected, got a file"):
        get_source(good_csv(tmp_path / "X.csv"))
    with pytest.raises(DataError, match=r"not a data source"):
        get_source(42)  # type: ignore[arg-type]


def test_bundled_is_the_default(home: Path) -> None:
    syms = available_symbols()
    assert "SPY" in syms and "BTC-USD" in syms and len(syms) == 38  # 36 daily + 2 intraday (sample/intraday)


def test_import_folder_with_one_bad_file_keeps_the_good_ones(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "in"
    good_csv(folder / "AAA.csv")
    good_csv(folder / "bbb.csv", rows=5, close=20.0)
    write(folder / "CCC.csv", "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1\n2020-01-02,1,2,0.5,1\n")
    write(folder / "readme.txt", "ignored")
    report = import_files(folder)
    assert sorted(report.symbols) == ["AAA", "BBB"]
    assert not report.ok
    assert list(report.errors) == [str(folder / "CCC.csv")]
    assert "line 3: duplicate date 2020-01-02" in report.errors[str(folder / "CCC.csv")]
    bbb = next(i for i in report.imported if i.symbol == "BBB")
    assert (bbb.bars, bbb.first, bbb.last) == (5, pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-06"))
    saved = sorted(p.name for p in (home / "data").iterdir())
    assert saved == ["AAA.parquet", "BBB.parquet"]  # nothing else: no temp files, no bad symbol
    assert WorkspaceSource().symbols() == ["AAA", "BBB"]
    assert WorkspaceSource().load("BBB")["close"].tolist() == [20.0, 21.0, 22.0, 23.0, 24.0]


def test_imported_symbol_is_usable_by_default_and_shadows_bundled(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "SPY.csv", rows=2, close=50.0)
    assert import_files([tmp_path / "SPY.csv"]).ok
    data = load_market_data(["SPY"])
    assert data.close["SPY"].tolist() == [50.0, 51.0]
    assert "SPY" in available_symbols() and len(available_symbols()) == 38
    delete_imported("spy")
    assert len(load_market_data(["SPY"])) > 8000  # the bundled SPY again


def test_failed_reimport_keeps_the_previous_version(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "a" / "XYZ.csv", rows=3)
    assert import_files(tmp_path / "a" / "XYZ.csv").ok
    write(tmp_path / "b" / "XYZ.csv", "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,-1\n")
    report = import_files(tmp_path / "b" / "XYZ.csv")
    assert "line 2: column 'Close': non-positive price -1" in report.errors[str(tmp_path / "b" / "XYZ.csv")]
    assert WorkspaceSource().load("XYZ")["close"].tolist() == [10.0, 11.0, 12.0]


def test_import_reports_missing_paths_bad_names_and_duplicates(tmp_path: Path, home: Path) -> None:
    good_csv(tmp_path / "one" / "DUP.csv")
    good_csv(tmp_path / "two" / "dup.csv")
    good_csv(tmp_path / "bad name!.csv")
    report = import_files(
        [
            tmp_path / "one" / "DUP.csv",
            tmp_path / "two" / "dup.csv",
            tmp_path / "nope.csv",
            tmp_path / "bad name!.csv",
            tmp_path / "empty_dir",
        ]
    )
    assert report.symbols == ["DUP"]
    assert "symbol DUP already imported" in report.errors[str(tmp_path / "two" / "dup.csv")]
    assert "no such file or folder" in report.errors[str(tmp_path / "nope.csv")]
    assert "not a usable symbol" in report.errors[str(tmp_path / "bad name!.csv")]


def test_delete_unknown_import(home: Path) -> None:
    with pytest.raises(DataError, match=r"unknown symbol 'SPY' in workspace \(0 symbols available\)"):
        delete_imported("SPY")
