"""Naming filters: a human or snake_case name spelt the way each rendered file needs."""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2.ext import Extension

_WORD = re.compile(r"[A-Za-z0-9]+")
# A quoted requirement at the start of a line of a TOML array: its distribution name.
_REQUIREMENT = re.compile(r'^\s*"([A-Za-z0-9][A-Za-z0-9._-]*)')


def words(value: str) -> list[str]:
    """Split a human name into lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(value))
    return [w.lower() for w in _WORD.findall(spaced)]


def kebab(value: str) -> str:
    return "-".join(words(value))


def snake(value: str) -> str:
    return "_".join(words(value))


def pascal(value: str) -> str:
    return "".join(w.capitalize() for w in words(value))


def title(value: str) -> str:
    return " ".join(w.capitalize() for w in words(value))


def singular(value: str) -> str:
    """English singular of a snake_case plural; unchanged when not plural."""
    value = str(value)
    head, _, last = value.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last.endswith("ies") and len(last) > 3:
        return f"{prefix}{last[:-3]}y"
    if last.endswith(("sses", "xes", "ches", "shes")):
        return f"{prefix}{last[:-2]}"
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return f"{prefix}{last[:-1]}"
    return value


def quoted(value: str) -> str:
    """A double-quoted string literal valid in Python, TOML and YAML."""
    return json.dumps(str(value), ensure_ascii=False)


def with_article(value: str) -> str:
    """'a user', 'an order': the words of an identifier with its indefinite article."""
    text = str(value).replace("_", " ")
    return f"{'an' if _vowel_sound(text) else 'a'} {text}"


# Written with a vowel, said with a consonant ("a user", "a unit", "a euro"), or
# the other way round ("an hour").
_CONSONANT_SOUNDS = ("uni", "use", "usa", "usu", "uti", "eu", "one", "once")
_VOWEL_SOUNDS = ("hour", "honest", "honor", "honour", "heir")


def _vowel_sound(text: str) -> bool:
    word = text.lower()
    if word.startswith(_VOWEL_SOUNDS):
        return True
    return word[:1] in "aeiou" and not word.startswith(_CONSONANT_SOUNDS)


def pystr(value: str) -> str:
    """A Python string literal quoted the way ruff format and black write it."""
    text = str(value)
    if '"' in text and "'" not in text:
        body = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"')
        return f"'{body}'"
    return json.dumps(text, ensure_ascii=False)


def docstring(value: str) -> str:
    """Text safe inside a triple-double-quoted docstring."""
    return str(value).replace("\\", "\\\\").replace('"', "'")


def last_part(path: str) -> str:
    """The last component of a relative path: `services/users` -> `users`, `.` -> `.`.

    For a path in the template's file names, where a `/` cannot stand.
    """
    return str(path).rstrip("/").rpartition("/")[2]


def requirement_names(text: str) -> list[str]:
    """The distribution names of the requirements listed one per line, as in the
    dependency arrays of pyproject.toml: `"fastapi>=0.120,<1",` gives `fastapi`."""
    found = {m[1] for line in str(text).splitlines() if (m := _REQUIREMENT.match(line))}
    return sorted(found, key=str.lower)


class NamingExtension(Extension):
    """Registers the naming filters."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters.update(
            {
                "kebab": kebab,
                "snake": snake,
                "pascal": pascal,
                "title_words": title,
                "singular": singular,
                "quoted": quoted,
                "pystr": pystr,
                "with_article": with_article,
                "docstring": docstring,
                "last_part": last_part,
                "requirement_names": requirement_names,
            }
        )
