"""The one path from user-supplied settings to validated engine types, and from a pydantic error to ConfigError.

Every configuration (BacktestConfig with Costs and Risk, requests, optimize / walk-forward / Monte Carlo specs,
risk limits, presets, batch jobs) is a pydantic dataclass or model: field types and bounds are declared once,
on the field. `validated` makes a pydantic dataclass raise the engine's `ConfigError` instead of pydantic's
ValidationError, `parse` builds one from a plain mapping (YAML, JSON), and `describe` turns a ValidationError
into the one line the CLI prints (exit 2) and the pages show: it names the field and the wrong value.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic_core import ArgsKwargs

from engine.errors import ConfigError

FORBID = ConfigDict(extra="forbid")
"""Model config of every configuration: unknown fields are errors (scalar fields are declared Strict*)."""

_TAGS = {"str", "int", "float", "bool", "dict", "list", "none", "date", "tuple"}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
_KINDS = {
    "float": "a number",
    "int": "an integer",
    "bool": "true or false",
    "string": "text",
    "dict": "a mapping",
    "mapping": "a mapping",
    "dataclass": "a mapping",
    "model": "a mapping",
    "list": "a list",
    "tuple": "a list",
    "iterable": "a list",
}
_UNKNOWN = {"extra_forbidden", "unexpected_keyword_argument"}
_MISSING = {"missing", "missing_argument"}


def validated[T](label: str) -> Callable[[type[T]], type[T]]:
    """Class decorator over a pydantic dataclass: its constructor raises ConfigError (one line naming the
    field and the value, prefixed by `label`) instead of ValidationError. `dataclasses.replace` goes through
    the same constructor, so a changed copy is checked too."""

    def wrap(cls: type[T]) -> type[T]:
        validate = cls.__pydantic_validator__.validate_python  # type: ignore[attr-defined]

        @functools.wraps(cls.__init__)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:  # what pydantic's own dataclass __init__ does, one call shorter (configs are built per run)
                validate(ArgsKwargs(args, kwargs), self_instance=self)
            except ValidationError as e:
                raise ConfigError(describe(e, label, cls)) from None

        cls.__init__ = __init__  # type: ignore[method-assign]
        cls.__validation_label__ = label  # type: ignore[attr-defined]
        return cls

    return wrap


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(cls: Any) -> TypeAdapter[Any]:
    """The validator of `cls`, built once (building one costs far more than using it)."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def parse[T](cls: type[T], values: Any, label: str | None = None) -> T:
    """`cls` (a pydantic dataclass or model) from a plain mapping; ConfigError naming the field and value."""
    name = label or str(getattr(cls, "__validation_label__", cls.__name__))
    try:
        result: T = _adapter(cls).validate_python(values)
    except ValidationError as e:
        raise ConfigError(describe(e, name, cls)) from None
    return result


def describe(error: ValidationError, label: str, root: Any = None) -> str:
    """One line for every problem of `error`: unknown and missing fields grouped per section, then each bad
    value as `label.field: value must be ...` (wrong types: `label: field 'x' must be a number, got '5'`).
    `root` (the validated type) lets an unknown-field message list the expected fields."""
    unknown: dict[tuple[Any, ...], list[str]] = {}
    missing: dict[tuple[Any, ...], list[str]] = {}
    parts: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    positional = list(_fields(root))  # a dataclass built with positional arguments reports their index
    for err in error.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not is_branch_tag(p))
        if loc and isinstance(loc[0], int) and loc[0] < len(positional):
            loc = (positional[loc[0]], *loc[1:])
        if err["type"] in _UNKNOWN or err["type"] in _MISSING:
            group = unknown if err["type"] in _UNKNOWN else missing
            group.setdefault(loc[:-1], []).append(str(loc[-1]) if loc else "?")
            continue
        if loc in seen:  # one message per field (a union reports each of its branches)
            continue
        seen.add(loc)
        parts.append(_one(err, label, loc))
    for section, names in unknown.items():
        known = _field_names(root, section)
        expected = f"; expected some of {known}" if known else ""
        parts.insert(0, f"{_section(label, section)}unknown {_noun(section)}(s) {sorted(names)}{expected}")
    for section, names in missing.items():
        parts.insert(0, f"{_section(label, section)}missing {_noun(section)}(s) {names}")
    return "; ".join(parts) or f"{label}: {error}".splitlines()[0]


def _one(err: Mapping[str, Any], label: str, loc: tuple[Any, ...]) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    path = ".".join(str(p) for p in loc)
    where = f"{label}.{path}" if path and label.isidentifier() else (f"{label}: {path}" if path else label)
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()))
        return f"{where}: {value!r} must be {_BOUNDS[kind]} {_number(limit)}"
    if kind == "finite_number":
        return f"{where}: {value!r} is not a finite number"
    if kind == "literal_error":
        return f"{where}: {value!r} is not one of {ctx['expected']}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return f"{where}: {ctx['error']}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return f"{label}: field {path!r} is empty"
    base = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_exact")
    if base in _KINDS and kind != base:
        if not path:
            return f"{label}: expected {_KINDS[base]}, got {value!r}"
        return f"{label}: field {path!r} must be {_KINDS[base]}, got {value!r}"
    message = str(err["msg"])
    return f"{where}: {value!r}: {message[:1].lower()}{message[1:]}"


def _section(label: str, section: tuple[Any, ...]) -> str:
    if not section:
        return f"{label}: "
    return f"{label}: field {'.'.join(str(p) for p in section)!r}: "


def _noun(section: tuple[Any, ...]) -> str:
    return "key" if section else "field"


def _number(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() and abs(x) < 1e15 else x


def is_branch_tag(part: Any) -> bool:
    """A union branch in a pydantic location ('float', 'list[str]', 'function-after[...]'), not a field."""
    return isinstance(part, str) and (part in _TAGS or "[" in part)


def _field_names(root: Any, section: tuple[Any, ...]) -> list[str]:
    """The field names of the type at `section` below `root` (empty when unknown: a dict, a union, ...)."""
    tp = root
    for part in section:
        fields = _fields(tp)
        if not isinstance(part, str) or part not in fields:
            return []
        tp = fields[part]
    return sorted(_fields(tp))


def _fields(tp: Any) -> dict[str, Any]:
    """name -> annotation of a pydantic dataclass or model (through Optional and Annotated)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return {}
            tp = args[0]
        else:
            break
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {n: f.annotation for n, f in tp.model_fields.items()}
    infos = getattr(tp, "__pydantic_fields__", None)
    if infos is not None and dataclasses.is_dataclass(tp):
        return {n: f.annotation for n, f in infos.items()}
    return {}


def section_model(
    cls: Any, name: str, *, only: tuple[str, ...] = (), exclude: tuple[str, ...] = (), optional: bool = False
) -> type[BaseModel]:
    """A model of some fields of the pydantic dataclass `cls`, with the same types, bounds and validators
    (declared once, on `cls`). optional=True: every field may be left out (None = the engine's default),
    for files whose unset fields must stay unset (batch YAML merges defaults under jobs)."""
    fields: dict[str, Any] = {}
    for field, info in cls.__pydantic_fields__.items():
        if (only and field not in only) or field in exclude:
            continue
        if optional:
            typ = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            fields[field] = (typ | None, None)
        else:
            fields[field] = (info.annotation, info)
    model: type[BaseModel] = create_model(name, __config__=FORBID, **fields)
    return model
