"""The package imports cheaply and its exception tree is rooted in PyrspError."""

from __future__ import annotations

import subprocess
import sys

import pyrsp
from pyrsp import errors


def test_every_error_derives_from_pyrsp_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), pyrsp.PyrspError), name


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, pyrsp; "
        "heavy = [m for m in ('asn1tools', 'httpx', 'smartcard', 'cryptography') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
