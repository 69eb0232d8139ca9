"""The template mini-language of an action's params: ``{variable}`` in strings, ``{"$json": ...}``.

A params mapping from the rules file is compiled once, at load, into a tree of template nodes; the
engine renders the tree for each action with a lookup that gives each variable's value. Compiling
checks every ``{name}`` against the rule variables (``liveguard.rules.variables``) and raises
``TemplateInvalid`` on the first mistake; rendering evaluates nothing but variable lookups. The
language is described for rule writers in docs/rules.md, "Templates".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from liveguard.rules.variables import VARIABLES

Lookup = Callable[[str], Any]
"""A variable's value by its name."""


class TemplateInvalid(Exception):  # noqa: N818 - the domain's word, as RulesInvalid
    """A params value that is not a template: ``path`` names the field, ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Const:
    value: str | int | float | bool | None

    def render(self, lookup: Lookup) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Var:
    """A whole value that is one variable, keeping its type (a list stays a list)."""

    name: str

    def render(self, lookup: Lookup) -> Any:
        return lookup(self.name)


@dataclass(frozen=True, slots=True)
class Text:
    """A string with ``{variables}`` in it (``{{`` and ``}}`` are literal braces)."""

    parts: tuple[str | Var, ...]

    def render(self, lookup: Lookup) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = lookup(part.name)
                out.append("" if value is None else str(value))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class JsonText:
    """``{"$json": ...}``: the rendered value, as a JSON document in a string (Tencent's Data fields)."""

    node: Template

    def render(self, lookup: Lookup) -> str:
        return json.dumps(self.node.render(lookup), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Object:
    items: tuple[tuple[str, Template], ...]

    def render(self, lookup: Lookup) -> dict[str, Any]:
        return {key: node.render(lookup) for key, node in self.items}


@dataclass(frozen=True, slots=True)
class Array:
    items: tuple[Template, ...]

    def render(self, lookup: Lookup) -> list[Any]:
        return [node.render(lookup) for node in self.items]


type Template = Const | Var | Text | JsonText | Object | Array

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def compile_template(value: object, path: str, variables: set[str]) -> Template:
    """A template from a YAML value; the names it uses are added to ``variables``."""
    if isinstance(value, str):
        return _compile_text(value, path, variables)
    if isinstance(value, dict):
        if "$json" in value:
            if len(value) != 1:
                raise TemplateInvalid(path, "$json must be the only key of its mapping")
            return JsonText(compile_template(value["$json"], f"{path}.$json", variables))
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TemplateInvalid(path, f"key {key!r} must be a string")
            if key.startswith("$"):
                raise TemplateInvalid(f"{path}.{key}", "unknown directive (only $json exists)")
            items.append((key, compile_template(item, f"{path}.{key}", variables)))
        return Object(tuple(items))
    if isinstance(value, list):
        return Array(tuple(compile_template(item, f"{path}[{i}]", variables) for i, item in enumerate(value)))
    if value is None or isinstance(value, str | int | float | bool):
        return Const(value)
    raise TemplateInvalid(path, f"a {type(value).__name__} cannot be a parameter")


def _compile_text(text: str, path: str, variables: set[str]) -> Template:
    parts: list[str | Var] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        literal = text[position : match.start()]
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal += token[0]
        elif match.group(1) is None:
            raise TemplateInvalid(path, f"unmatched {token!r} (write {token * 2} for a literal brace)")
        else:
            name = match.group(1)
            if name not in VARIABLES:
                hint = difflib.get_close_matches(name, VARIABLES, n=1)
                suggestion = f' (did you mean "{{{hint[0]}}}"?)' if hint else ""
                raise TemplateInvalid(path, f"unknown variable {{{name}}}{suggestion}")
            variables.add(name)
        if literal:
            parts.append(literal)
        if match.group(1) is not None:
            parts.append(Var(match.group(1)))
    if text[position:]:
        parts.append(text[position:])
    if len(parts) == 1 and isinstance(parts[0], Var):
        return parts[0]
    for part in parts:
        if isinstance(part, Var) and VARIABLES[part.name].kind == "list":
            raise TemplateInvalid(path, f"{{{part.name}}} is a list: it must be the whole value")
    if all(isinstance(part, str) for part in parts):
        return Const("".join(part for part in parts if isinstance(part, str)))
    return Text(tuple(parts))
