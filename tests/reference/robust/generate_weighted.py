"""Golden files of the robust estimators with observation weights (decision record 0063).

Run with the peers' venv of the last round (read-only; never a runtime dependency):

    /work/peers/i12-robust/venv/bin/python tests/reference/robust/generate_weighted.py

Peers: did-imputation 0.1.0 (``aw=`` analytic weights, "smart" averages by cohort x period,
clustered by unit), pyfixest 0.60 ``did2s(weights=)`` (GMM vcov, no small-sample factor) and
``feols(weights=)`` (CRV1, fixest small-sample factor) for the saturated Sun-Abraham and ETWFE
cell regressions. The Sun-Abraham and ETWFE aggregates are the weighted cohort shares /
observation-weighted averages of the feols cells with the delta method (shares fixed), computed
here from feols' coefficients and covariance. Weights: mpdta ``pop = exp(lpop)`` (county
population, time-invariant); ``sim_staggered.csv`` ``w`` (SIMULATED, seeded, varies by unit and
year). Output: ``weighted_golden.json``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    mpdta = pd.read_csv(HERE / "mpdta.csv")
    mpdta["pop"] = np.exp(mpdta["lpop"])
    sim = pd.read_csv(HERE / "sim_staggered.csv")
    rng = np.random.default_rng(63)
    sim["w"] = np.round(rng.uniform(0.5, 3.0, len(sim)), 3)
    return mpdta, sim


def gen_imputation(mpdta: pd.DataFrame) -> dict:
    from did_imputation import did_imputation

    d = mpdta.copy()
    d["Ei"] = d["first.treat"].replace(0, np.nan)
    out = {}
    r = did_imputation(
        d,
        y="lemp",
        i="countyreal",
        t="year",
        Ei="Ei",
        aw="pop",
        allhorizons=True,
        pretrends=3,
        minn=0,
    )
    out["mpdta_horizons"] = {
        "estimates": r.estimates,
        "std_errors": r.std_errors,
        "pre_estimates": r.pretrends_estimates,
        "pre_std_errors": r.pretrends_std_errors,
    }
    r = did_imputation(d, y="lemp", i="countyreal", t="year", Ei="Ei", aw="pop", minn=0)
    out["mpdta_overall"] = {"estimates": r.estimates, "std_errors": r.std_errors}
    return {
        k: {kk: {str(a): float(b) for a, b in vv.items()} for kk, vv in v.items()}
        for k, v in out.items()
    }


def gen_did2s(sim: pd.DataFrame) -> dict:
    import pyfixest as pf

    s = sim.copy()
    s["rel_year"] = np.where(s.cohort > 0, s.year - s.cohort, np.inf)
    s["D"] = ((s.cohort > 0) & (s.year >= s.cohort)).astype(int)
    out = {}
    specs = {
        "event_unit": ("~0|unit+year", "~i(rel_year,ref=-1.0)"),
        "static_unit": ("~0|unit+year", "~D"),
        "event_unit_x": ("~x|unit+year", "~i(rel_year,ref=-1.0)"),
        "static_state": ("~0|state+year", "~D"),
    }
    for name, (first, second) in specs.items():
        m = pf.did2s(
            s,
            yname="y",
            first_stage=first,
            second_stage=second,
            treatment="D",
            cluster="unit",
            weights="w",
        )
        t = m.tidy()
        out[name] = {
            "terms": [str(x) for x in t.index],
            "estimate": t["Estimate"].tolist(),
            "std_error": t["Std. Error"].tolist(),
        }
    return out


def _cells(df: pd.DataFrame, keep) -> tuple[pd.DataFrame, list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
    cells = []
    for g in sorted(df.loc[df["first.treat"] > 0, "first.treat"].unique()):
        for t in sorted(df.year.unique()):
            if keep(int(g), int(t)):
                cells.append((int(g), int(t)))
    for g, t in cells:
        df[f"c_{g}_{t}"] = ((df["first.treat"] == g) & (df.year == t)).astype(float)
    return df, cells


def _feols(df: pd.DataFrame, cells: list[tuple[int, int]], fe: str):  # type: ignore[no-untyped-def]
    import pyfixest as pf

    rhs = " + ".join(f"c_{g}_{t}" for g, t in cells)
    m = pf.feols(f"lemp ~ {rhs} | {fe}", data=df, weights="pop", vcov={"CRV1": "countyreal"})
    names = list(m._coefnames)
    return m, names, np.asarray(m.coef()), np.asarray(m._vcov)


def _cells_json(names: list[str], b: np.ndarray, V: np.ndarray) -> dict:
    return {"terms": names, "estimate": b.tolist(), "std_error": np.sqrt(np.diag(V)).tolist()}


def gen_saturated(mpdta: pd.DataFrame) -> dict:
    """Sun-Abraham: cells e = t - g != -1, never-treated controls, unit + year FE, weighted."""
    df, cells = _cells(mpdta.copy(), lambda g, t: t - g != -1)
    _m, names, b, V = _feols(df, cells, "countyreal + year")
    es = sorted({t - g for g, t in cells})
    agg_est, agg_se = [], []
    for e in es:
        w = np.zeros(len(names))
        members = [(g, t) for g, t in cells if t - g == e]
        mass = {k: df.loc[df[f"c_{k[0]}_{k[1]}"] == 1, "pop"].sum() for k in members}
        tot = sum(mass.values())
        for k in members:
            w[names.index(f"c_{k[0]}_{k[1]}")] = mass[k] / tot
        agg_est.append(float(w @ b))
        agg_se.append(float(np.sqrt(w @ V @ w)))
    return {
        "cells": {
            "terms": names,
            "estimate": b.tolist(),
            "std_error": np.sqrt(np.diag(V)).tolist(),
        },
        "aggregate": {"rel_time": es, "estimate": agg_est, "std_error": agg_se},
    }


def gen_etwfe(mpdta: pd.DataFrame) -> dict:
    """ETWFE not-yet: cells t >= g, cohort + year FE, weighted; simple = weighted average."""
    df, cells = _cells(mpdta.copy(), lambda g, t: t >= g)
    df["gvar"] = df["first.treat"]
    _m, names, b, V = _feols(df, cells, "gvar + year")
    w = np.zeros(len(names))
    treated = (df["first.treat"] > 0) & (df.year >= df["first.treat"])
    tot = df.loc[treated, "pop"].sum()
    for g, t in cells:
        w[names.index(f"c_{g}_{t}")] = df.loc[df[f"c_{g}_{t}"] == 1, "pop"].sum() / tot
    return {
        "cells": {
            "terms": names,
            "estimate": b.tolist(),
            "std_error": np.sqrt(np.diag(V)).tolist(),
        },
        "simple": {"estimate": float(w @ b), "std_error": float(np.sqrt(w @ V @ w))},
    }


def gen_dcdh(sim: pd.DataFrame) -> dict:
    """py-did-multiplegt-dyn ``weight=`` (default options), staggered and switching panels."""
    import polars as pl
    from did_multiplegt_dyn import DidMultiplegtDyn

    s = sim.copy()
    s["D"] = ((s.cohort > 0) & (s.year >= s.cohort)).astype(int)
    sw = pd.read_csv(HERE / "sim_switching.csv")
    sw["w"] = np.round(np.random.default_rng(64).uniform(0.5, 3.0, len(sw)), 3)
    out = {}
    cases = {"staggered": (s, "year", "D"), "switching": (sw, "t", "d")}
    for name, (df, time, treat) in cases.items():
        m = DidMultiplegtDyn(
            pl.from_pandas(df), "y", "unit", time, treat, effects=3, placebo=2, weight="w"
        )
        m.fit()
        r = m.result["did_multiplegt_dyn"]
        out[name] = {
            "effects": r["Effects"]["Estimate"].astype(float).tolist(),
            "effects_se": r["Effects"]["SE"].astype(float).tolist(),
            "placebos": r["Placebos"]["Estimate"].astype(float).tolist(),
            "placebos_se": r["Placebos"]["SE"].astype(float).tolist(),
            "p_jointplacebo": float(r["p_jointplacebo"]),
        }
    return out


def gen_dcdh_controls(sim: pd.DataFrame) -> dict:
    """py-did-multiplegt-dyn ``controls=["x"]`` (default options), with and without weights."""
    import polars as pl
    from did_multiplegt_dyn import DidMultiplegtDyn

    s = sim.copy()
    s["D"] = ((s.cohort > 0) & (s.year >= s.cohort)).astype(int)
    sw = pd.read_csv(HERE / "sim_switching.csv")
    rng = np.random.default_rng(65)
    sw["x"] = np.round(rng.normal(0, 1, len(sw)) + 0.3 * sw["d"], 4)
    sw["y"] = sw["y"] + 0.8 * sw["x"]
    out = {}
    cases = {
        "staggered": (s, "year", "D", None),
        "staggered_w": (s, "year", "D", "w"),
        "switching": (sw, "t", "d", None),
    }
    for name, (df, time, treat, weight) in cases.items():
        m = DidMultiplegtDyn(
            pl.from_pandas(df), "y", "unit", time, treat, effects=3, placebo=2,
            controls=["x"], weight=weight,
        )
        m.fit()
        r = m.result["did_multiplegt_dyn"]
        out[name] = {
            "effects": r["Effects"]["Estimate"].astype(float).tolist(),
            "effects_se": r["Effects"]["SE"].astype(float).tolist(),
            "placebos": r["Placebos"]["Estimate"].astype(float).tolist(),
            "placebos_se": r["Placebos"]["SE"].astype(float).tolist(),
            "p_jointplacebo": float(r["p_jointplacebo"]),
        }
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    import importlib.metadata as md

    mpdta, sim = inputs()
    out = {
        "versions": {
            p: md.version(p) for p in ("pyfixest", "did_imputation", "py-did-multiplegt-dyn")
        },
        "sim_weights_seed": 63,
        "imputation": gen_imputation(mpdta),
        "did2s": gen_did2s(sim),
        "saturated": gen_saturated(mpdta),
        "etwfe": gen_etwfe(mpdta),
        "dcdh": gen_dcdh(sim),
        "dcdh_controls": gen_dcdh_controls(sim),
        "switching_x_seed": 65,
        "switching_weights_seed": 64,
    }
    (HERE / "weighted_golden.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
