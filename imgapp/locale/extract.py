"""The Babel extraction method that finds imgapp's message keys in Python source.

imgapp's msgids are keys such as `nav.console`, and the code passes most of
them around as plain strings (`t("nav.console")`, `empty_key="dash.no_usage"`,
tables of column keys, `message_key="task.msg.provider_busy"`), so extraction
by translation-function name would miss most of them. `extract_keys` reads a
file's syntax tree instead and yields, each at its line:

- every string literal shaped like a key, `<namespace>.<name>[.<name>...]`
  (lower case, digits, `_`), whose namespace the `namespaces` option lists;
- for each `prefixed_calls` entry `Name:prefix`, the prefix plus the first
  argument of calls to `Name(...)`: `ValidationFailed("email_invalid", ...)`
  uses `error.email_invalid`;
- for each `prefixed_attributes` entry `name:prefix`, the prefix plus the
  string a class body assigns to `name`: `code = "email_taken"` uses
  `error.email_taken`.

Options come from babel.cfg; entries are separated by whitespace.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from typing import IO

_NAME = re.compile(r"[a-z0-9_]+")
_KEY = re.compile(r"(?P<namespace>[a-z][a-z0-9_]*)(?:\.[a-z0-9_]+)+")


def _pairs(option: str) -> dict[str, str]:
    """`"A:x. B:y."` -> {"A": "x.", "B": "y."}."""
    return dict(entry.split(":", 1) for entry in option.split())


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _assigned(statement: ast.stmt) -> tuple[str, str] | None:
    """`name = "value"` or `name: T = "value"` in a class body, as (name, value)."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign):
        target, value = statement.target, statement.value
    else:
        return None
    text = _string(value)
    if isinstance(target, ast.Name) and text is not None:
        return target.id, text
    return None


def _keys(tree: ast.AST, options: Mapping[str, str]) -> Iterator[tuple[int, str]]:
    namespaces = set(options.get("namespaces", "").split())
    calls = _pairs(options.get("prefixed_calls", ""))
    attributes = _pairs(options.get("prefixed_attributes", ""))
    for node in ast.walk(tree):
        text = _string(node) if isinstance(node, ast.expr) else None
        if text is not None:
            shape = _KEY.fullmatch(text)
            if shape and shape["namespace"] in namespaces:
                yield node.lineno, text
        elif isinstance(node, ast.Call) and node.args:
            prefix = calls.get(_called_name(node.func) or "")
            suffix = _string(node.args[0])
            if prefix and suffix and _NAME.fullmatch(suffix):
                yield node.lineno, prefix + suffix
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                found = _assigned(statement)
                if found and found[0] in attributes and _NAME.fullmatch(found[1]):
                    yield statement.lineno, attributes[found[0]] + found[1]


def extract_keys(
    fileobj: IO[bytes],
    keywords: object,
    comment_tags: object,
    options: Mapping[str, str],
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extraction-method interface: (line, function, msgid, comments) per key."""
    del keywords, comment_tags  # keys are found by their shape, not by a function's name
    tree = ast.parse(fileobj.read(), filename=getattr(fileobj, "name", "<source>"))
    for lineno, key in sorted(_keys(tree, options)):
        yield lineno, None, key, []
