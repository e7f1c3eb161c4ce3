"""MkDocs hook: the site serves Mermaid's script itself.

Material for MkDocs draws ```mermaid blocks with Mermaid's script, which it fetches
from a CDN unless the page already loads one. The site must read the same on a
network without internet access, so the build copies the script that `make mermaid`
installed (the version the template's diagram tests render with) into the site, where
mkdocs.yml's `extra_javascript` loads it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError

SCRIPT = Path(".npm-tools/node_modules/mermaid/dist/mermaid.min.js")
TARGET = Path("javascripts/mermaid.min.js")


def on_post_build(config: MkDocsConfig, **_: Any) -> None:
    source = Path(config.config_file_path).parent / SCRIPT
    if not source.is_file():
        raise PluginError(f"{SCRIPT} is missing: `make mermaid` installs it")
    target = Path(config.site_dir) / TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
