"""MkDocs hook: render the reST cross-reference roles pyrsp's docstrings use.

mkdocstrings renders ``:class:`~pyrsp.errors.CodecError``` as the literal ``:class:`` followed
by code. This turns each role into a cross-reference (an optional autoref: a link when the name
is documented on the site, plain code when it is not), shortens ``~``-prefixed names to their
last part as Sphinx does, and drops reST's ``::`` literal-block markers.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([\w.]+)</code>")
_LONE_MARKER = re.compile(r"<p>::</p>\s*")
_TRAILING_MARKER = re.compile(r"::</p>")


def _reference(match: re.Match[str]) -> str:
    short, name = match.group(1), match.group(2)
    title = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{name}" optional><code>{title}</code></autoref>'


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace the roles and markers in the page's HTML."""
    html = _ROLE.sub(_reference, html)
    html = _LONE_MARKER.sub("", html)
    return _TRAILING_MARKER.sub(":</p>", html)
