"""Golden files for didstudy's wild cluster bootstrap (tests/inference/test_wild_bootstrap.py).

Oracle: the Python package ``wildboottest`` 0.3.2 (Fischer & Roodman, "fast and wild" WCR/WCU
type 11), run with ``B = 9999 > 2^12`` so that it enumerates all Rademacher sign vectors: the
result is exact and seed-free. The fixed effects enter its OLS as dummies.

Run in a separate venv (never a didstudy dependency):

    python -m venv /work/peers/i13-infer
    /work/peers/i13-infer/bin/pip install wildboottest==0.3.2 statsmodels pandas
    /work/peers/i13-infer/bin/python tests/reference/wild_bootstrap/generate.py

Writes ``panel.csv`` (SIMULATED: 12 units x 10 periods, 4 treated from period 6, two
controls, unit-level shocks) and ``golden.json``: for each case the t statistic and the sorted
bootstrap t statistics divided by it (the small-sample factor, which differs between the
dummy-variable and the absorbed regression, cancels in that ratio and in the p-value).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from wildboottest.wildboottest import WildboottestCL

HERE = Path(__file__).resolve().parent


def panel() -> pd.DataFrame:
    rng = np.random.default_rng(20261203)
    n_units, n_periods = 12, 10
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    treated_unit = unit < 4
    treat = (treated_unit & (period >= 6)).astype(float)
    x1 = rng.standard_normal(unit.size)
    x2 = rng.standard_normal(unit.size) + 0.3 * treat
    shock = rng.standard_normal(n_units)[unit] * 0.5
    ar = np.zeros(unit.size)
    for i in range(n_units):
        e = rng.standard_normal(n_periods)
        for t in range(1, n_periods):
            e[t] += 0.5 * e[t - 1]
        ar[unit == i] = e
    y = 0.2 * treat + 0.5 * x1 - 0.3 * x2 + 0.1 * period + shock + ar
    return pd.DataFrame(
        {
            "unit": unit,
            "period": period,
            "region": unit // 2,
            "treat": treat,
            "x1": x1,
            "x2": x2,
            "y": y,
        }
    )


def design(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    unit_d = pd.get_dummies(df["unit"], prefix="u", drop_first=False, dtype=float)
    time_d = pd.get_dummies(df["period"], prefix="t", drop_first=True, dtype=float)
    X = pd.concat([df[["treat", "x1", "x2"]], unit_d, time_d], axis=1)
    return X.to_numpy(dtype=float), list(X.columns)


def run(df: pd.DataFrame, term: str, impose_null: bool, cluster: str, boot: str) -> dict:
    X, names = design(df)
    R = np.zeros(X.shape[1])
    R[names.index(term)] = 1.0
    wb = WildboottestCL(
        X=X,
        Y=df["y"].to_numpy(),
        cluster=df[cluster].to_numpy(),
        R=R,
        B=9999,
        bootcluster=df[boot].to_numpy(),
        seed=1,
        parallel=False,
    )
    wb.get_scores(bootstrap_type="11", impose_null=impose_null)
    _, _, enumerated = wb.get_weights(weights_type="rademacher")
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    wb.get_vcov()
    wb.get_tstat()
    wb.get_pvalue(pval_type="two-tailed")
    t_stat = float(np.asarray(wb.t_stat).ravel()[0])
    t_boot = np.asarray(wb.t_boot, dtype=float).ravel()
    return {
        "term": term,
        "impose_null": impose_null,
        "cluster": cluster,
        "bootstrap_cluster": boot,
        "enumerated": bool(enumerated),
        "reps": int(t_boot.size),
        "t_stat": t_stat,
        "p_value": float(np.mean(np.abs(t_boot) >= abs(t_stat) * (1 - 1e-10))),
        "ratio_sorted": sorted((t_boot / t_stat).tolist()),
    }


def main() -> None:
    df = panel()
    df.to_csv(HERE / "panel.csv", index=False)
    cases = {
        "wcr_treat": run(df, "treat", True, "unit", "unit"),
        "wcu_treat": run(df, "treat", False, "unit", "unit"),
        "wcr_x1": run(df, "x1", True, "unit", "unit"),
        # 6 clusters: 64 sign vectors. (wildboottest 0.3.2 fails with a bootstrap cluster
        # different from the variance cluster, IndexError in get_denom: the subcluster
        # bootstrap is checked against brute-force re-fits instead.)
        "wcr_region": run(df, "treat", True, "region", "region"),
    }
    meta = {
        "oracle": f"wildboottest {version('wildboottest')} (WildboottestCL, type 11)",
        "command": "/work/peers/i13-infer/bin/python tests/reference/wild_bootstrap/generate.py",
        "note": "SIMULATED panel; p_value = mean(|t*| >= |t|) over all 2^12 sign vectors",
        "cases": cases,
    }
    (HERE / "golden.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
