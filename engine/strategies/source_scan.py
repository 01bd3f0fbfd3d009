"""Read a user strategy file without running it: its Strategy classes, their `name`, `description` and `Params`.

Listing strategies (`ivybt strategies`, the pages, the registry) must never execute a user file: importing it
runs its module code. So the file is parsed with `ast` and only literal values are read: `name = "..."`,
`description = "..."`, and the fields of a `@dataclass` `Params` class with their defaults and the bounds of
their `param(...)` calls (numbers, strings, tuples, and module-level constants holding them). A base class
from the engine (`Strategy`, a built-in strategy) is looked up in the engine itself, which is our code; any
other base class the file imports is unknown, and a class built on it is not listed. What cannot be read
this way is a problem of that class, reported by the registry with the file name.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.strategies.base import Strategy

PARAM_ARGS = ("default", "low", "high", "step", "choices", "doc")
"""The arguments of `engine.strategies.base.param`, in order."""

TYPES: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}


class Unreadable(Exception):
    """A value that only running the file would give (a call, an expression, an unknown name)."""


@dataclass(frozen=True)
class FieldSpec:
    """One `Params` field as the file declares it."""

    name: str
    type: type
    default: Any
    metadata: dict[str, Any]
    has_default: bool = True


@dataclass(frozen=True)
class ScannedClass:
    """A Strategy subclass of a user file, as read from its source.

    fields: the Params fields (None when Params is an engine class, given as `engine_params`); stops: whether
    the class (or a base) defines `stop_fractions`; checks: whether its Params has a `__post_init__` (rules to
    check by running it); problem: why it cannot be registered (None if it can).
    """

    class_name: str
    name: str
    description: str
    fields: tuple[FieldSpec, ...] | None
    engine_params: type | None
    frozen: bool
    stops: bool
    checks: bool
    problem: str | None


@dataclass
class _Module:
    tree: ast.Module
    classes: dict[str, ast.ClassDef]
    names: dict[str, tuple[str, str | None]]  # local name -> (module, attribute or None for a module)
    consts: dict[str, Any]


def scan_file(path: Path) -> list[ScannedClass]:
    """The Strategy subclasses defined at the top level of `path` (names starting with "_" skipped), in
    source order. Raises SyntaxError for a file that does not parse."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _Module(tree, {}, {}, {})
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            module.classes[node.name] = node
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                module.names[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:  # `import a.b as c` binds c to a.b; `import a.b` binds a
                local = alias.asname or alias.name.split(".")[0]
                module.names[local] = (alias.name if alias.asname else local, None)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                module.consts[node.targets[0].id] = _literal(node.value, module)
            except Unreadable:
                module.consts.pop(node.targets[0].id, None)
    found = []
    for cls in module.classes.values():
        if not cls.name.startswith("_") and _is_strategy(cls, module, set()):
            found.append(_read_class(cls, module))
    return found


def _literal(node: ast.expr, module: _Module) -> Any:
    """A literal value, a module-level constant, or a tuple/list of them; Unreadable otherwise."""
    if isinstance(node, ast.Name):
        if node.id in module.consts:
            return module.consts[node.id]
        if node.id in ("None", "True", "False"):
            return {"None": None, "True": True, "False": False}[node.id]
        raise Unreadable(node.id)
    if isinstance(node, ast.Tuple | ast.List):
        values = tuple(_literal(e, module) for e in node.elts)
        return values if isinstance(node, ast.Tuple) else list(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand, module)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise Unreadable(ast.unparse(node)) from None


def _engine_object(node: ast.expr, module: _Module) -> Any:
    """The engine object a base-class or Params expression names (`Strategy`, `crossover.SmaCross`,
    `SmaCross.Params`), imported from the engine; None if it names anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in module.names:
        return None
    source, attr = module.names[node.id]
    if source != "engine" and not source.startswith("engine."):
        return None
    try:
        obj: Any = importlib.import_module(source)
        for part in ([attr] if attr else []) + parts:
            if attr is None and isinstance(obj, type(importlib)) and not hasattr(obj, part):
                obj = importlib.import_module(f"{obj.__name__}.{part}")
            else:
                obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _is_strategy(cls: ast.ClassDef, module: _Module, seen: set[str]) -> bool:
    if cls.name in seen:
        return False
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in module.classes:
            if _is_strategy(module.classes[base.id], module, seen | {cls.name}):
                return True
            continue
        obj = _engine_object(base, module)
        if isinstance(obj, type) and issubclass(obj, Strategy):
            return True
    return False


def _chain(cls: ast.ClassDef, module: _Module) -> list[ast.ClassDef | type]:
    """The class, then its bases depth-first (local ClassDefs and engine classes), as attribute lookup
    would visit them for single inheritance; enough for `name`, `Params` and the methods."""
    out: list[ast.ClassDef | type] = [cls]
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in module.classes and base.id != cls.name:
            out.extend(_chain(module.classes[base.id], module))
        else:
            obj = _engine_object(base, module)
            if isinstance(obj, type):
                out.append(obj)
    return out


def _body_value(cls: ast.ClassDef, attr: str) -> ast.expr | ast.ClassDef | ast.FunctionDef | None:
    """The last statement of the class body binding `attr`: its value, or the class/function itself."""
    found: ast.expr | ast.ClassDef | ast.FunctionDef | None = None
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in node.targets):
            found = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == attr:
            found = node.value
        elif isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == attr:
            found = node
    return found


def _lookup(chain: list[ast.ClassDef | type], attr: str) -> tuple[ast.ClassDef, Any] | tuple[None, Any] | None:
    """Where `attr` is first bound along `chain`: (the local class, its AST) or (None, the engine value)."""
    for link in chain:
        if isinstance(link, ast.ClassDef):
            node = _body_value(link, attr)
            if node is not None:
                return link, node
        elif hasattr(link, attr):
            return None, getattr(link, attr)
    return None


def _read_class(cls: ast.ClassDef, module: _Module) -> ScannedClass:
    chain = _chain(cls, module)
    name, problem = "", None
    where = _lookup(chain, "name")
    try:
        name = _text(where, module)
    except Unreadable as e:
        problem = f"class {cls.name}: `name` is not a literal string ({e}); listing reads the file without running it"
    description = ""
    try:
        description = _text(_lookup(chain, "description"), module)
    except Unreadable:
        description = ""
    fields, engine_params, frozen, checks = None, None, True, False
    if problem is None and not name.strip():
        problem = f"class {cls.name} has no `name` (a non-empty string)"
    if problem is None:
        try:
            fields, engine_params, frozen, checks = _params(_lookup(chain, "Params"), module)
        except Unreadable as e:
            problem = f"class {cls.name} ({name!r}): {e}"
        if problem is None and fields is None and engine_params is None:
            problem = f"class {cls.name} ({name!r}) has no `Params` dataclass"
    if problem is None and not _implements(chain, "target_weights"):
        problem = f"class {cls.name} ({name!r}) does not implement target_weights"
    if problem is None and fields is not None:
        missing = [f.name for f in fields if not f.has_default]
        if missing:
            problem = f"class {cls.name} ({name!r}): default Params() fails: no default for {', '.join(missing)}"
    stops = _implements(chain, "stop_fractions", default=Strategy.stop_fractions)
    return ScannedClass(cls.name, name, description, fields, engine_params, frozen, stops, checks, problem)


def _text(where: tuple[Any, Any] | None, module: _Module) -> str:
    if where is None:
        return ""
    local, value = where
    if local is None:
        return value if isinstance(value, str) else ""
    if not isinstance(value, ast.expr):
        raise Unreadable(type(value).__name__)
    text = _literal(value, module)
    if not isinstance(text, str):
        raise Unreadable(repr(text))
    return text


def _implements(chain: list[ast.ClassDef | type], method: str, default: Any = None) -> bool:
    """Whether a class along `chain` defines `method` (an engine class counts when its method is concrete
    and, with `default`, is not that default)."""
    for link in chain:
        if isinstance(link, ast.ClassDef):
            if isinstance(_body_value(link, method), ast.FunctionDef):
                return True
        else:
            fn = getattr(link, method, None)
            abstract = getattr(fn, "__isabstractmethod__", False)
            return fn is not None and not abstract and (default is None or fn is not default)
    return False


def _is_dataclass_decorator(node: ast.expr) -> tuple[bool, bool]:
    """(is @dataclass / @dataclasses.dataclass, frozen=...)."""
    call = node if isinstance(node, ast.Call) else None
    target = call.func if call else node
    named = (isinstance(target, ast.Name) and target.id == "dataclass") or (
        isinstance(target, ast.Attribute) and target.attr == "dataclass"
    )
    frozen = False
    for kw in call.keywords if call else []:
        if kw.arg == "frozen" and isinstance(kw.value, ast.Constant):
            frozen = bool(kw.value.value)
    return named, frozen


def _params(
    where: tuple[Any, Any] | None, module: _Module
) -> tuple[tuple[FieldSpec, ...] | None, type | None, bool, bool]:
    """(fields, engine Params, frozen, has __post_init__) of the Params a class binds."""
    if where is None:
        return None, None, True, False
    local, value = where
    if local is None:
        ok = isinstance(value, type) and dataclasses.is_dataclass(value)
        return None, (value if ok else None), True, False
    if isinstance(value, ast.expr):  # Params = SomeClass
        if isinstance(value, ast.Name) and value.id in module.classes:
            value = module.classes[value.id]
        else:
            obj = _engine_object(value, module)
            ok = isinstance(obj, type) and dataclasses.is_dataclass(obj)
            return None, (obj if ok else None), True, False
    if not isinstance(value, ast.ClassDef):
        return None, None, True, False
    return _dataclass_fields(value, module)


def _dataclass_fields(cls: ast.ClassDef, module: _Module) -> tuple[tuple[FieldSpec, ...] | None, None, bool, bool]:
    marks = [_is_dataclass_decorator(d) for d in cls.decorator_list]
    if not any(named for named, _ in marks):
        return None, None, True, False
    frozen = any(f for named, f in marks if named)
    checks = isinstance(_body_value(cls, "__post_init__"), ast.FunctionDef)
    fields: dict[str, FieldSpec] = {}
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in module.classes:
            inherited, _, _, inherited_checks = _dataclass_fields(module.classes[base.id], module)
            fields.update({f.name: f for f in inherited or ()})
            checks = checks or inherited_checks
        else:
            raise Unreadable(f"Params base {ast.unparse(base)} is not a dataclass of this file")
    for node in cls.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        if "ClassVar" in ast.unparse(node.annotation):
            continue
        fields[node.target.id] = _field(node, module)
    return tuple(fields.values()), None, frozen, checks


def _field(node: ast.AnnAssign, module: _Module) -> FieldSpec:
    assert isinstance(node.target, ast.Name)
    name = node.target.id
    metadata: dict[str, Any] = {}
    if node.value is None:
        return FieldSpec(name, _type(node.annotation, None), None, metadata, has_default=False)
    value = node.value
    try:
        if isinstance(value, ast.Call) and _callee(value) == "param":
            args = {PARAM_ARGS[i]: _literal(a, module) for i, a in enumerate(value.args)}
            args.update({kw.arg: _literal(kw.value, module) for kw in value.keywords if kw.arg})
            default = args.pop("default")
            metadata = {k: args.get(k) for k in PARAM_ARGS[1:]}
            metadata["doc"] = metadata["doc"] or ""
        elif isinstance(value, ast.Call) and _callee(value) == "field":
            kws = {kw.arg: kw.value for kw in value.keywords}
            if "default" not in kws:
                raise Unreadable("field() without a literal default")
            default = _literal(kws["default"], module)
            if "metadata" in kws:
                metadata = dict(_literal(kws["metadata"], module))
        else:
            default = _literal(value, module)
    except (Unreadable, KeyError, TypeError, ValueError) as e:
        raise Unreadable(
            f"Params field {name!r}: its default is not a literal value ({e}); listing reads the file without running it"
        ) from None
    return FieldSpec(name, _type(node.annotation, default), default, metadata)


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _type(annotation: ast.expr, default: Any) -> type:
    """The field's type as `engine.strategies.base.param_specs` reads it: int/float/bool/str by name, else the
    type of the default."""
    text = annotation.value if isinstance(annotation, ast.Constant) else ast.unparse(annotation)
    return TYPES.get(str(text), type(default))
