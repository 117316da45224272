"""The exception tree is rooted in PyrspError, and its docstring draws every class."""

from __future__ import annotations

import re

import pyrsp
from pyrsp import errors


def test_every_error_derives_from_pyrsp_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), pyrsp.PyrspError), name


def test_the_docstring_tree_draws_exactly_the_errors() -> None:
    tree = (errors.__doc__ or "").split("::", 1)[1]
    drawn = re.findall(r"^[\s│├└─]*([A-Z]\w+)", tree, flags=re.MULTILINE)
    assert sorted(drawn) == sorted(errors.__all__)
