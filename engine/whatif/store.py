"""Scenarios by name: the presets IvyBT ships (engine/whatif/presets/*.json) and the user's, saved as JSON in the
workspace's scenarios/ folder. A saved scenario cannot take a preset's name, so a name means one thing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from engine.errors import ConfigError
from engine.store.workspace import workspace_dir
from engine.whatif.scenario import NAME_PATTERN, Scenario

PRESETS_DIR = Path(__file__).resolve().parent / "presets"


def scenarios_dir() -> Path:
    """The workspace folder of saved scenarios (created on first use)."""
    path = workspace_dir() / "scenarios"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(path: Path) -> Scenario:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"scenario file {path}: cannot read it: {e}") from None
    try:
        scenario = Scenario.from_dict(values)
    except ConfigError as e:
        raise ConfigError(f"scenario file {path}: {e}") from None
    return scenario if scenario.name == path.stem else replace(scenario, name=path.stem)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def saved_names() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.json") if NAME_PATTERN.match(p.stem))


def list_scenarios() -> list[tuple[str, str, str]]:
    """(name, "preset" or "saved", description) of every scenario, presets first."""
    out = [(n, "preset", _read(PRESETS_DIR / f"{n}.json").description) for n in preset_names()]
    return out + [(n, "saved", _read(scenarios_dir() / f"{n}.json").description) for n in saved_names()]


def load_scenario(name: str) -> Scenario:
    """A preset or a saved scenario by name; ConfigError lists the names there are."""
    if NAME_PATTERN.match(name):
        for folder in (PRESETS_DIR, scenarios_dir()):
            path = folder / f"{name}.json"
            if path.is_file():
                return _read(path)
    known = ", ".join(preset_names() + saved_names())
    raise ConfigError(f"scenario {name!r} not found (known: {known})")


def save_scenario(scenario: Scenario, overwrite: bool = False) -> Path:
    """Write `scenario` to <workspace>/scenarios/<name>.json; a preset's name, or an existing one without
    `overwrite`, is a ConfigError."""
    if scenario.name in preset_names():
        raise ConfigError(f"scenario {scenario.name!r} is a preset's name; save it under another name")
    path = scenarios_dir() / f"{scenario.name}.json"
    if path.exists() and not overwrite:
        raise ConfigError(f"scenario {scenario.name!r} exists ({path}); pass overwrite to replace it")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(scenario.to_dict(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
