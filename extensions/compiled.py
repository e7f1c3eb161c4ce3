"""Each template string compiled once per copy.

Copier renders every part of every path in the template, and some answers, through
`Environment.from_string`, which compiles its source each time: about 2,000 calls
in a copy of the default answers, for a few hundred different strings, and most of
the time a copy takes. Jinja caches the templates it loads by name, never the ones
made from a string; this extension keeps those too, for the environment of one copy
(or update).

The templates of the files, which Jinja loads by name, keep their compiled code
between copies in Jinja's bytecode cache (a folder of the user's own under the
system's temporary folder, keyed by each file's path in the template and checked
against a checksum of its source, so a changed template is compiled again), unless
copier's environment has one.
"""

from __future__ import annotations

from typing import Any

from jinja2 import FileSystemBytecodeCache, Template
from jinja2.ext import Extension


class _BytecodeCache(FileSystemBytecodeCache):
    """Jinja's cache, keyed by the template's name alone: copier renders from a
    fresh clone of the template each time, so the file's path changes."""

    def __init__(self) -> None:
        super().__init__(pattern="backend-architect-%s.cache")

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(name)


class CompiledOnce(Extension):
    """Keeps the templates `from_string` compiles, by their source, and the code
    of the files' templates in a bytecode cache."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if environment.bytecode_cache is None:
            environment.bytecode_cache = _BytecodeCache()
        compile_string = environment.from_string
        compiled: dict[str, Template] = {}

        def from_string(
            source: Any, globals: Any = None, template_class: Any = None
        ) -> Template:
            if globals is not None or template_class is not None:
                return compile_string(source, globals, template_class)
            if not isinstance(source, str):
                return compile_string(source)
            if source not in compiled:
                compiled[source] = compile_string(source)
            else:
                # The extensions' preprocessing runs on every compile, and may
                # keep state for the render that follows: copier's `yield` tag
                # clears there what the last path part yielded.
                environment.preprocess(source)
            return compiled[source]

        environment.from_string = from_string
