"""The web UI's stylesheets and scripts: files in ``static/``, shipped as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def asset(name: str) -> str:
    """The text of ``static/<name>`` (``chat.css``, ``page.css``, ``bridge.js``, ``panel.js``)."""
    return resources.files(__package__).joinpath("static", name).read_text("utf-8")
