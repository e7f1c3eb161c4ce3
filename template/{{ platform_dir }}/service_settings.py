"""The service's own settings. Template updates never change this file.

`Settings` in shared/config.py (template-owned) inherits from `ServiceSettings`, so a
field declared here is read like every other one: `APP_<NAME>` in the environment or
in `.env` sets `<name>`, and `Settings()` carries it everywhere settings go.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings


class ServiceSettings(BaseSettings):
    """Add the service's own fields here, each with a default that works locally."""
