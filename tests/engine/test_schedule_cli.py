"""`ivybt schedule`: add / list / edit / enable / remove round trip, one-line exit-2 errors for bad input, and
`run-due --now` queueing and running a due schedule once (the real console script in a private workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.store.presets import Preset, save_preset
from tests.engine.cli_helpers import cli, cli_json


@pytest.fixture
def ws(presets: Path, home: Path, no_broker_env: None) -> dict:
    save_preset(Preset(name="hold", strategy="buy_and_hold", symbols=("SPY", "QQQ")))
    return {"home": home, "presets": presets}


def test_add_list_edit_disable_remove_round_trip(ws: dict) -> None:
    added = cli_json("schedule", "add", "--preset", "hold", "--at", "9:35", **ws)
    assert {k: added[k] for k in ("preset", "broker", "at", "tz", "mode", "enabled")} == {
        "preset": "hold",
        "broker": "paper",
        "at": "09:35",
        "tz": "America/New_York",
        "mode": "approve",
        "enabled": True,
    }
    sid = added["id"]
    second = cli_json("schedule", "add", "--preset", "hold", "--at", "15:50", "--tz", "Europe/London", **ws)
    listed = cli_json("schedule", "list", **ws)["schedules"]
    assert [s["id"] for s in listed] == [sid, second["id"]]
    assert listed[1]["tz"] == "Europe/London" and listed[1]["next_run"] is not None

    edited = cli_json("schedule", "edit", str(sid), "--mode", "auto", "--at", "10:05", **ws)
    assert (edited["mode"], edited["at"], edited["tz"]) == ("auto", "10:05", "America/New_York")
    assert cli("schedule", "disable", str(sid), **ws).returncode == 0
    (first,) = [s for s in cli_json("schedule", "list", **ws)["schedules"] if s["id"] == sid]
    assert first["enabled"] is False and first["next_run"] is None

    text = cli("schedule", "list", **ws).stdout
    assert "Europe/London" in text and "15:50" in text
    assert cli("schedule", "remove", str(sid), **ws).returncode == 0
    assert [s["id"] for s in cli_json("schedule", "list", **ws)["schedules"]] == [second["id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "hold", "--at", "9:75"], "time of day '9:75' is not HH:MM"),
        (["--preset", "hold", "--at", "09:35", "--tz", "Moon/Base"], "time zone 'Moon/Base' is unknown"),
        (["--preset", "nope", "--at", "09:35"], "preset 'nope' not found"),
        (["--preset", "hold", "--at", "09:35", "--broker", "robinhood"], "broker 'robinhood' is not one of paper"),
        (["--preset", "hold", "--at", "09:35", "--mode", "always"], "mode 'always' is not one of approve, auto"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(ws: dict, args: list[str], message: str) -> None:
    proc = cli("schedule", "add", *args, **ws)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("ivybt: error: ") and message in line
    assert cli_json("schedule", "list", **ws)["schedules"] == []


def test_unknown_id_is_exit_2(ws: dict) -> None:
    proc = cli("schedule", "remove", "42", **ws)
    assert proc.returncode == 2 and proc.stderr.strip() == "ivybt: error: no schedule with id 42"


def test_run_due_runs_a_due_schedule_once(ws: dict) -> None:
    sid = cli_json("schedule", "add", "--preset", "hold", "--at", "09:35", "--mode", "auto", **ws)["id"]
    # Tuesday 2024-03-12 09:34 in New York (EDT, UTC-4): not due yet
    early = cli_json("schedule", "run-due", "--now", "2024-03-12T13:34:00Z", **ws)
    assert early["runs"] == []
    due = cli("schedule", "run-due", "--now", "2024-03-12T09:40:00-04:00", "--json", **ws)
    assert due.returncode == 0, due.stderr
    (run,) = json.loads(due.stdout)["runs"]
    assert (run["schedule"], run["status"], run["job_status"]) == (sid, "executed", "done")
    assert "2 order(s) sent, status complete" in run["message"]
    again = cli_json("schedule", "run-due", "--now", "2024-03-12T15:00:00Z", **ws)
    assert again["runs"] == []
    (listed,) = cli_json("schedule", "list", **ws)["schedules"]
    assert (listed["last_run_date"], listed["last_status"]) == ("2024-03-12", "executed")
    assert cli("schedule", "run-due", "--now", "yesterday-ish", **ws).returncode == 2
