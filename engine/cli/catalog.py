"""`ivybt strategies` and `ivybt presets list|show|delete`: what can be run."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.options import add_json
from engine.cli.output import print_json, table_text
from engine.errors import EngineError
from engine.store.jsonable import dumps
from engine.store.presets import delete_preset, list_presets, load_preset
from engine.strategies.base import param_specs
from engine.strategies.registry import EVENT_BUILTINS, list_strategies, load_errors


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("strategies", help="list strategies with their parameters, defaults and bounds")
    add_json(p)
    p.set_defaults(func=strategies)

    p = sub.add_parser("presets", help="list, show or delete presets")
    psub = p.add_subparsers(dest="presets_cmd", required=True, metavar="{list,show,delete}")
    q = psub.add_parser("list", help="preset names, strategies and symbols")
    add_json(q)
    q.set_defaults(func=presets_list)
    q = psub.add_parser("show", help="one preset (validated)")
    q.add_argument("name", help="preset name or path to a .json file")
    add_json(q)
    q.set_defaults(func=presets_show)
    q = psub.add_parser("delete", help="delete a preset")
    q.add_argument("name")
    q.set_defaults(func=presets_delete)


def strategies(args: argparse.Namespace) -> int:
    listing: dict[str, dict[str, Any]] = {}
    every: dict[str, Any] = {**list_strategies(), **EVENT_BUILTINS}
    for name, cls in sorted(every.items()):
        specs = [
            {
                "name": s.name,
                "type": s.type.__name__,
                "default": s.default,
                "low": s.low,
                "high": s.high,
                "step": s.step,
                "choices": list(s.choices) if s.choices else None,
                "doc": s.doc,
            }
            for s in param_specs(cls.Params)
        ]
        kind = "event" if name in EVENT_BUILTINS else "weights"
        listing[name] = {"description": getattr(cls, "description", ""), "kind": kind, "params": specs}
    errors = load_errors()
    if args.json:
        print_json({"strategies": listing, "load_errors": errors})
        return 0
    for name, info in listing.items():
        print(f"{name}{' (event strategy)' if info['kind'] == 'event' else ''}: {info['description']}")
        rows = []
        for s in info["params"]:
            bounds = (
                ", ".join(map(str, s["choices"]))
                if s["choices"]
                else (
                    f"{s['low']} .. {s['high']}" + (f" step {s['step']}" if s["step"] else "")
                    if s["low"] is not None or s["high"] is not None
                    else ""
                )
            )
            rows.append(["  " + s["name"], s["type"], repr(s["default"]), bounds, s["doc"]])
        if rows:
            print(table_text(["  param", "type", "default", "bounds", "meaning"], rows))
        print()
    for file, reason in errors.items():
        print(f"not loaded: {file}: {reason}")
    return 0


def presets_list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for name in list_presets():
        try:
            p = load_preset(name)
            rows.append(
                {
                    "name": name,
                    "strategy": p.strategy,
                    "symbols": list(p.symbols),
                    "description": p.description,
                    "error": None,
                }
            )
        except EngineError as e:  # one broken preset must not hide the others
            rows.append({"name": name, "strategy": None, "symbols": [], "description": "", "error": str(e)})
    if args.json:
        print_json({"presets": rows})
        return 0
    print(
        table_text(
            ["name", "strategy", "symbols", "description"],
            [
                [r["name"], r["strategy"] or "INVALID", " ".join(r["symbols"]), r["error"] or r["description"]]
                for r in rows
            ],
        )
    )
    return 0


def presets_show(args: argparse.Namespace) -> int:
    preset = load_preset(args.name)
    if args.json:
        print_json(preset.to_dict())
    else:
        print(dumps(preset.to_dict(), indent=2))
    return 0


def presets_delete(args: argparse.Namespace) -> int:
    delete_preset(args.name)
    print(f"deleted preset {args.name}")
    return 0
