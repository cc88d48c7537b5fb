"""Generate the Goodman-Bacon golden file with diff-diff (test-time oracle only).

Command (from the repository root)::

    .venv/bin/python -m tests.reference.bacon.generate

Writes ``sim_balanced.csv`` (SIMULATED balanced panel from
``didstudy.data.simulate.simulate_staggered``, seed 7: three timing groups, never-treated and
always-treated units, heterogeneous dynamic effects) and ``golden.json`` with every 2×2
comparison of ``diff_diff.BaconDecomposition(weights="exact")`` (diff-diff 3.13.0).

diff-diff folds always-treated units into the untreated group U (Goodman-Bacon 2021,
footnote 11); didstudy reports "treated vs never" and "later vs always treated" separately, so the
test combines didstudy's two rows per treated group (weights add; estimates average by weight).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import diff_diff
import numpy as np
import pandas as pd
from diff_diff import BaconDecomposition

from didstudy.data.simulate import simulate_staggered

HERE = Path(__file__).resolve().parent


def main() -> None:
    df = simulate_staggered(
        n_units=70,
        periods=range(1, 11),
        cohorts={1: 8, 4: 12, 6: 15, 8: 10},
        n_never=25,
        n_controls=2,
        dynamic=lambda e: 0.1 + 0.05 * e,
        heterogeneous=True,
        seed=7,
    )
    df = pd.DataFrame(df)
    df.to_csv(HERE / "sim_balanced.csv", index=False)
    first = df["cohort"].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = BaconDecomposition(weights="exact").fit(df, "y", "unit", "time", "cohort")
    rows = []
    for c in res.comparisons:
        rows.append(
            {
                "treated": str(int(c.treated_group)),
                "control": "U" if c.control_group == "never_treated" else str(int(c.control_group)),
                "type": c.comparison_type,
                "estimate": float(c.estimate),
                "weight": float(c.weight),
            }
        )
    golden = {
        "diff_diff": diff_diff.__version__,
        "twfe": float(res.twfe_estimate),
        "n_always_treated": int((first == 1).groupby(df["unit"]).any().sum()),
        "comparisons": rows,
    }
    assert np.isfinite(golden["twfe"])
    (HERE / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
