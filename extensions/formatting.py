"""Formatter rules: rendered Python comes out formatted the way ruff and black would."""

from __future__ import annotations

from typing import Any

from jinja2.ext import Extension


def _isort_key(name: str) -> tuple[int, str]:
    base = name.split(" as ")[0]
    kind = 0 if base.isupper() and len(base) > 1 else 1 if base[:1].isupper() else 2
    return kind, base.lower()


def import_from(names: Any, module: str, line_length: int = 88) -> str:
    """A `from module import names` statement laid out the way ruff's isort does."""
    ordered = sorted(set(names), key=_isort_key)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= line_length:
        return line
    body = "".join(f"    {name},\n" for name in ordered)
    return f"from {module} import (\n{body})"


def _statement_key(statement: str) -> tuple[int, str]:
    words = statement.split()
    return (words[0] == "from", words[1].lower())


def sort_imports(block: str) -> str:
    """The import statements of `block` in the order isort (ruff's `I`) wants them.

    For a block of first-party imports whose order depends on names the answers
    choose: in a microservice, `<package>_platform` sorts before some service
    packages and after others. A statement is a line starting with `from` or
    `import` and the indented or closing lines that follow it; the lines after the
    last statement are kept as they are.
    """
    statements: list[list[str]] = []
    lines = block.splitlines()
    end = 0
    while end < len(lines):
        line = lines[end]
        if line.startswith(("from ", "import ")):
            statements.append([line])
        elif statements and line.startswith((" ", ")")):
            statements[-1].append(line)
        else:
            break  # the first line that is not an import: the rest stays as it is
        end += 1
    ordered = sorted(("\n".join(s) for s in statements), key=_statement_key)
    text = "\n".join([*ordered, *lines[end:]])
    return text + ("\n" if block.endswith("\n") else "")


def assignment(
    expression: str, target: str, indent: int = 0, line_length: int = 88
) -> str:
    """`target = expression`, or the value in parentheses on a line of its own when
    the statement is too long: what ruff format and black both write."""
    pad = " " * indent
    line = f"{pad}{target} = {expression}"
    if len(line) <= line_length:
        return line
    parts = [expression]
    if len(f"{pad}    {expression}") > line_length and _is_string(expression):
        # Parentheses do not make it fit: ruff format would then take them away
        # and black keep them, so the string is split where both keep it so.
        parts = _split_string(expression, line_length - len(pad) - 4)
    body = "".join(f"{pad}    {part}\n" for part in parts)
    return f"{pad}{target} = (\n{body}{pad})"


def _is_string(expression: str) -> bool:
    return (
        len(expression) > 1
        and expression[0] == expression[-1] == '"'
        and '"' not in expression[1:-1]
    )


def _split_string(literal: str, width: int) -> list[str]:
    """`literal` as implicitly joined literals at most `width` long, where a cut
    allows it: each cut after a `/` if it can be, else after a `_`, `-` or space."""
    text = literal[1:-1]
    parts: list[str] = []
    while len(text) + 2 > width:
        head = text[: width - 2]
        cut = max(head.rfind("/"), 0) or max(head.rfind(c) for c in "_- ")
        if cut <= 0:
            break
        parts.append(f'"{text[: cut + 1]}"')
        text = text[cut + 1 :]
    return [*parts, f'"{text}"']


def call(
    name: str,
    args: Any,
    indent: int = 0,
    prefix: str = "",
    suffix: str = "",
    line_length: int = 88,
) -> str:
    """`{prefix}{name}(args){suffix}` on one line when it fits; else its arguments
    on one line of their own, or one a line with a trailing comma: how black and
    ruff format split a call."""
    pad = " " * indent
    joined = ", ".join(args)
    line = f"{pad}{prefix}{name}({joined}){suffix}"
    if len(line) <= line_length:
        return line
    if len(f"{pad}    {joined}") <= line_length:
        return f"{pad}{prefix}{name}(\n{pad}    {joined}\n{pad}){suffix}"
    body = "".join(f"{pad}    {arg},\n" for arg in args)
    return f"{pad}{prefix}{name}(\n{body}{pad}){suffix}"


def call_tuple(
    calls: Any, indent: int = 0, prefix: str = "", line_length: int = 88
) -> str:
    """`{prefix}(call, ...)` of `calls`, (name, args) pairs: one a line with a
    trailing comma, which keeps the tuple so, except a one-call tuple that fits on
    the line (its comma is not a "magic" one)."""
    pad = " " * indent
    calls = list(calls)
    if not calls:
        return f"{pad}{prefix}()"
    if len(calls) == 1:
        name, args = calls[0]
        line = f"{pad}{prefix}({name}({', '.join(args)}),)"
        if len(line) <= line_length:
            return line
    items = "\n".join(
        call(name, args, indent + 4, suffix=",", line_length=line_length)
        for name, args in calls
    )
    return f"{pad}{prefix}(\n{items}\n{pad})"


class FormattingExtension(Extension):
    """Registers the formatter rules as filters."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters.update(
            {
                "import_from": import_from,
                "assignment": assignment,
                "sort_imports": sort_imports,
                "call": call,
                "call_tuple": call_tuple,
            }
        )
