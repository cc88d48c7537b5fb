"""Generate the PySAL golden file for tests/measure (Gini and Theil oracles).

Command (from the repository root):

    .venv/bin/python tests/reference/measure/make_pysal_golden.py

PySAL ``inequality`` (1.1.2 when generated) is a test-time oracle only. Inputs are stored in the
JSON next to the outputs, so the tests do not depend on the random generator.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
from inequality.gini import Gini
from inequality.theil import Theil, TheilD

OUT = Path(__file__).with_name("pysal_golden.json")


def main() -> None:
    rng = np.random.default_rng(3)
    y = np.round(rng.gamma(2.0, 3.0, 600), 4)
    g = rng.integers(0, 40, 600)
    gini_groups = {int(lab): float(Gini(y[g == lab]).g) for lab in np.unique(g)}
    rng = np.random.default_rng(5)
    ty = np.round(rng.gamma(2.0, 3.0, 500), 4)
    tg = rng.integers(0, 12, 500)
    theil_d = TheilD(ty, tg)
    payload = {
        "generator": "tests/reference/measure/make_pysal_golden.py",
        "inequality_version": version("inequality"),
        "gini": {
            "values": y.tolist(),
            "groups": g.tolist(),
            "G": float(Gini(y).g),
            "G_jj": {str(k): v for k, v in gini_groups.items()},
        },
        "theil": {
            "values": ty.tolist(),
            "groups": tg.tolist(),
            "T": float(Theil(ty).T),
            "between": float(np.ravel(theil_d.bg)[0]),
            "within": float(np.ravel(theil_d.wg)[0]),
        },
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
