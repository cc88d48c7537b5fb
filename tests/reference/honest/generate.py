"""Golden files for didstudy's HonestDiD (tests/inference/test_honest.py).

Data: ``ehec_data.csv``, the Medicaid-expansion panel of the HonestDiD README and the Mixtape
"Advanced DiD" exercises (Mixtape-Sessions/Advanced-DID, Exercises/Data/ehec_data.csv; copied from
the moderndid package's bundled copy). Sample as in the README: years < 2016, the 2015 cohort
dropped; TWFE event study of ``dins`` on relative-time dummies (2013 = reference), state and year
fixed effects, errors clustered by state.

Oracle: the Python ``honestdid`` 0.1.1 package (port of R HonestDiD; cvxpy), run in a separate venv
(never a didstudy dependency):

    /work/peers/i13-infer/bin/pip install honestdid==0.1.1 pandas
    /work/peers/i13-infer/bin/python tests/reference/honest/generate.py

``betahat``/``sigma`` are computed here by least squares on dummies (CRV1 by state). Note: this
regression gives lead dummies to every unit with an adoption year (also the 2016, 2017 and 2019
cohorts, not yet treated in this sample), so it is NOT the README specification; the goldens
compare honest_did with honestdid on the same (betahat, sigma) input, whatever its origin. The
README specification itself is checked against the published Stata numbers in
tests/inference/test_honest.py.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import honestdid as hd
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# Stata honestdid README (mcaceresb/stata-honestdid, version 0.5.3), rounded to 3 decimals.
PUBLISHED = {
    "rm_first": {
        "original": [0.029, 0.064],
        "m": [0.5, 1.0, 1.5, 2.0],
        "lb": [0.024, 0.017, 0.008, -0.001],
        "ub": [0.067, 0.072, 0.080, 0.088],
    },
    "sd_first": {
        "original": [0.029, 0.064],
        "m": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05],
        "lb": [0.026, 0.013, 0.003, -0.007, -0.017, -0.027],
        "ub": [0.061, 0.079, 0.091, 0.101, 0.111, 0.121],
    },
    "rm_average": {
        "original": [0.040, 0.075],
        "m": [0.0, 0.5, 1.0, 1.5, 2.0],
        "lb": [0.041, 0.033, 0.020, 0.006, -0.008],
        "ub": [0.075, 0.080, 0.090, 0.103, 0.117],
    },
}


def event_study() -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(HERE / "ehec_data.csv")
    keep = (df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))
    df = df[keep].reset_index(drop=True)
    rel = (df["year"] - df["yexp2"]).where(df["yexp2"].notna())
    names = [k for k in range(-6, 2) if k != -1]
    D = np.column_stack([(rel == k).to_numpy(dtype=float) for k in names])
    states = pd.get_dummies(df["stfips"], dtype=float).to_numpy()
    years = pd.get_dummies(df["year"], drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([D, states, years])
    y = df["dins"].to_numpy()
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    u = y - X @ beta
    codes = pd.factorize(df["stfips"])[0]
    G = codes.max() + 1
    scores = np.zeros((G, X.shape[1]))
    np.add.at(scores, codes, X * u[:, None])
    n, k = len(y), D.shape[1] + years.shape[1]
    V = xtx_inv @ scores.T @ scores @ xtx_inv * G / (G - 1) * (n - 1) / (n - k)
    p = D.shape[1]
    return beta[:p], V[:p, :p]


def lb_ub(frame: pd.DataFrame) -> tuple[list[float], list[float]]:
    return [float(v) for v in frame["lb"]], [float(v) for v in frame["ub"]]


def main() -> None:
    b, V = event_study()
    npre, npost = 5, 2
    cases = {}
    rm = [0.5, 1.0, 1.5, 2.0]
    for name, kw in {
        "rm_first_clf": dict(Mbarvec=rm, method="C-LF"),
        "rm_first_conditional": dict(Mbarvec=[0.5, 1.0], method="Conditional"),
        "rm_average_clf": dict(
            Mbarvec=[0.0, 0.5, 1.0, 1.5, 2.0], method="C-LF", l_vec=np.array([0.5, 0.5])
        ),
        "sdrm_first_clf": dict(
            Mbarvec=[0.5, 1.0], method="C-LF", bound="deviation from linear trend"
        ),
    }.items():
        res = hd.createSensitivityResults_relativeMagnitudes(b, V, npre, npost, **kw)
        lb, ub = lb_ub(res)
        cases[name] = {
            "m": [float(v) for v in kw["Mbarvec"]],
            "lb": lb,
            "ub": ub,
            "l_vec": [float(v) for v in kw.get("l_vec", np.array([1.0, 0.0]))],
        }
    ms = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05]
    res = hd.createSensitivityResults(b, V, npre, npost, method="FLCI", Mvec=ms)
    lb, ub = lb_ub(res)
    cases["sd_first_flci"] = {"m": ms, "lb": lb, "ub": ub, "l_vec": [1.0, 0.0]}
    res = hd.createSensitivityResults(
        b, V, npre, npost, method="FLCI", Mvec=ms, l_vec=np.array([0.5, 0.5])
    )
    lb, ub = lb_ub(res)
    cases["sd_average_flci"] = {"m": ms, "lb": lb, "ub": ub, "l_vec": [0.5, 0.5]}
    out = {
        "oracle": f"honestdid {version('honestdid')} (Python port of R HonestDiD)",
        "command": "/work/peers/i13-infer/bin/python tests/reference/honest/generate.py",
        "data": "ehec_data.csv (Medicaid expansion, HonestDiD README sample)",
        "betahat": b.tolist(),
        "sigma": V.tolist(),
        "num_pre": npre,
        "cases": cases,
        "published_stata_readme": PUBLISHED,
    }
    (HERE / "golden.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
