"""``import didstudy`` (and a TWFE fit) stays light: no plotting, no scipy.stats, no pydantic.

Checked in a fresh interpreter through ``sys.modules`` (an assertion, not a timing): these
imports are what made a cold start take 1.5 s (benchmarks/bench_cold_start.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("matplotlib", "scipy.stats", "pydantic", "rich")

_CHILD = """
import json, sys
import didstudy as ds
after_import = sorted(m for m in {heavy!r} if m in sys.modules)
df = ds.simulate_staggered(n_units=40, periods=range(2001, 2009), cohorts={{2004: 10}},
                           n_never=30, seed=1)
ds.twfe(df, "y", "treat", unit="unit", time="time", fe=["unit", "time"]).tidy()
after_fit = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps([after_import, after_fit]))
"""


def _loaded(code: str) -> list[list[str]]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    loaded: list[list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_import_and_fit_do_not_load_heavy_modules() -> None:
    after_import, after_fit = _loaded(_CHILD.format(heavy=HEAVY))
    assert after_import == []
    assert after_fit == []


def test_the_check_sees_a_heavy_import() -> None:
    """The same probe reports a heavy module once something imports it (the check can fail)."""
    code = _CHILD.format(heavy=HEAVY).replace(
        "import didstudy as ds", "import didstudy as ds\nimport scipy.stats"
    )
    after_import, _ = _loaded(code)
    assert after_import == ["scipy.stats"]
