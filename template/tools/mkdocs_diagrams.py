"""MkDocs hook: every ```mermaid block of the docs is drawn as an SVG at build time.

The site then needs no diagram script: it reads the same offline, in a docs portal
that strips scripts from pages (TechDocs does), and in a browser without JavaScript.
mermaidx runs Mermaid's own renderer in an embedded JavaScript engine, so the build
needs neither Node nor a browser.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import mermaidx
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

MERMAID_BLOCK = re.compile(
    r"^```mermaid\n(?P<source>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE
)
# Mermaid names every drawing's root element, and the styles and arrowheads scoped
# to it, after this id; each drawing of a page gets its own.
DRAWING_ID = "my-svg"


def on_page_markdown(markdown: str, page: Page, **_: Any) -> str:
    numbers = count(1)

    def draw(block: re.Match[str]) -> str:
        number = next(numbers)
        try:
            svg: str = mermaidx.render(block["source"]).svg()
        except Exception as error:
            raise PluginError(
                f"{page.file.src_uri}: diagram {number} cannot be drawn: {error}"
            ) from error
        svg = svg.replace(DRAWING_ID, f"{page.file.name}-diagram-{number}")
        return f'<div class="diagram" markdown="0">\n{svg}\n</div>'

    return MERMAID_BLOCK.sub(draw, markdown)
