"""MkDocs hook: render the reST cross-reference roles pyrsp's docstrings use.

mkdocstrings renders ``:class:`~pyrsp.errors.CodecError``` as the literal ``:class:`` followed
by code. This turns each role into a cross-reference (an optional autoref: a link when the name
is documented on the site, plain code when it is not), shortens ``~``-prefixed names to their
last part as Sphinx does, drops reST's ``::`` literal-block markers, and takes the reST
double backquotes out of the literal blocks those markers introduce.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([\w.]+)</code>")
_LONE_MARKER = re.compile(r"<p>::</p>\s*")
_TRAILING_MARKER = re.compile(r"::</p>")
_PRE = re.compile(r"<pre>.*?</pre>", re.DOTALL)


def _reference(match: re.Match[str]) -> str:
    short, name = match.group(1), match.group(2)
    title = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{name}" optional><code>{title}</code></autoref>'


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    """Replace the roles and markers in the HTML of the API reference."""
    if page.file.src_uri != "api.md":
        return html
    html = _ROLE.sub(_reference, html)
    html = _LONE_MARKER.sub("", html)
    html = _TRAILING_MARKER.sub(":</p>", html)
    return _PRE.sub(lambda block: block.group(0).replace("``", ""), html)
