"""What the pyrsp benchmarks share: the 12 kB profile, a lab of peers, timing and tables.

The profile is the GSMA TS.48 V5 test profile from ``../shared/vectors/upp`` when present
(12,163 bytes), else a generated package of exactly 12,288 bytes with the same ICCID layout.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrsp.activation_code import ActivationCode
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import TestSmdp
from pyrsp.testing.smdp.profiles import generate_profile

ROOT = Path(__file__).resolve().parent.parent
VECTORS = Path(os.environ.get("PYRSP_VECTORS", ROOT.parent / "shared" / "vectors"))
TS48 = VECTORS / "upp" / "TS48V5-SAIP2-3-NOBERTLV-UNIQUE.der"
PROFILE_SIZE = 12 * 1024
GENERATED_ICCID = "8999000000000000017"


def profile_package() -> tuple[bytes, str]:
    """The 12 kB profile package and where it came from."""
    if TS48.is_file():
        return TS48.read_bytes(), f"TS.48 V5 ({TS48.stat().st_size} bytes)"
    empty = generate_profile(GENERATED_ICCID)
    # the filler element's header grows by 4 bytes (DF7F 82 LLLL) once it holds data
    package = generate_profile(GENERATED_ICCID, filler=PROFILE_SIZE - len(empty) - 5)
    return package, f"generated ({len(package)} bytes)"


@dataclass
class Lab:
    """One TestPki, one TestSmdp and the 12 kB profile; a fresh VirtualEuicc per download."""

    curve: str = "nist"
    seed: int = 1
    pki: TestPki = field(init=False)
    smdp: TestSmdp = field(init=False)
    profile: bytes = field(init=False)
    source: str = field(init=False)

    def __post_init__(self) -> None:
        self.pki = TestPki.generate(seed=self.seed, curve=self.curve)
        self.smdp = TestSmdp(self.pki, rng=self.seed + 1)
        self.profile, self.source = profile_package()

    def card(self, n: int) -> VirtualEuicc:
        """A new, empty card (same EID and keys, its own random source)."""
        return VirtualEuicc(self.pki, rng=random.Random(n))

    def order(self) -> ActivationCode:
        """A new order for the profile."""
        return self.smdp.add_order(self.profile)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain text table with the given columns."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def emit(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool) -> None:
    """Print ``rows`` as a table (or one JSON document)."""
    if as_json:
        json.dump({"benchmark": title, "rows": list(rows)}, sys.stdout, indent=2)
        print()
        return
    print(f"== {title}")
    print(table(rows, columns))
