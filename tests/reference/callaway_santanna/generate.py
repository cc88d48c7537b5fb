"""Generate the Callaway–Sant'Anna golden files from Python peers (test-time oracles only).

Run from a separate environment with the peers installed (never a didstudy dependency):

    python -m venv /work/peers/i11-cs
    /work/peers/i11-cs/bin/pip install moderndid==0.2.0 diff-diff==3.13.0 csdid==0.4.3
    /work/peers/i11-cs/bin/python tests/reference/callaway_santanna/generate.py

Writes ``peers.json`` next to this file: ATT(g,t) with analytic (influence-function) standard
errors and the four aggregations on mpdta (R ``did``'s example data) for several
specifications. moderndid mirrors R ``did`` (``att_gt``/``aggte``, ``boot=False``);
``est_method="dr"`` there (and in csdid and R ``did``) is the *traditional* doubly robust
estimator, didstudy's ``method="dr_traditional"``. The improved DR ("imp") cell comes from
``moderndid.drdid_imp_panel`` (a port of DRDID).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")

HERE = Path(__file__).resolve().parent
MPDTA = HERE.parents[2] / "src" / "didstudy" / "data" / "datasets" / "mpdta.csv"


def _f(x: object) -> float | None:
    v = float(np.asarray(x, dtype=float))
    return v if np.isfinite(v) else None


def moderndid_case(df: pd.DataFrame, **kw: object) -> dict:
    import moderndid as md

    res = md.att_gt(
        df, yname="lemp", tname="year", idname="countyreal", gname="first.treat", boot=False, **kw
    )
    out = {
        "cells": [
            {"group": int(g), "time": int(t), "att": _f(a), "se": _f(s)}
            for g, t, a, s in zip(res.groups, res.times, res.att_gt, res.se_gt, strict=True)
        ],
        "wald_pvalue": _f(res.wald_pvalue) if res.wald_pvalue is not None else None,
        "aggregations": {},
    }
    specs = {
        "simple": {},
        "group": {},
        "calendar": {},
        "dynamic": {},
        "dynamic_window": {"min_e": -2, "max_e": 2},
        "dynamic_balanced": {"balance_e": 1},
    }
    for name, extra in specs.items():
        kind = name.split("_")[0]
        agg = md.aggte(res, type=kind, boot=False, **extra)
        labels = getattr(agg, "event_times", None)
        est = getattr(agg, "att_by_event", None)
        se = getattr(agg, "se_by_event", None)
        out["aggregations"][name] = {
            "options": extra,
            "overall": _f(agg.overall_att),
            "overall_se": _f(agg.overall_se),
            "labels": None if labels is None or kind == "simple" else [int(v) for v in labels],
            "estimate": None if est is None or kind == "simple" else [_f(v) for v in est],
            "std_error": None if se is None or kind == "simple" else [_f(v) for v in se],
        }
    return out


def diffdiff_case(df: pd.DataFrame, covariates: list[str] | None, **kw: object) -> dict:
    import diff_diff as dd

    res = dd.CallawaySantAnna(**kw).fit(
        df,
        outcome="lemp",
        unit="countyreal",
        time="year",
        first_treat="first.treat",
        covariates=covariates,
        aggregate="all",
    )
    return {
        "cells": [
            {"group": int(g), "time": int(t), "att": _f(v["effect"]), "se": _f(v["se"])}
            for (g, t), v in res.group_time_effects.items()
        ],
        "simple": {"overall": _f(res.overall_att), "overall_se": _f(res.overall_se)},
        "dynamic": {
            str(int(e)): {"att": _f(v["effect"]), "se": _f(v["se"])}
            for e, v in res.event_study_effects.items()
        },
    }


def csdid_case(df: pd.DataFrame, xformla: str | None, est_method: str) -> dict:
    from csdid.att_gt import ATTgt

    fit = ATTgt(
        yname="lemp",
        gname="first.treat",
        idname="countyreal",
        tname="year",
        data=df,
        xformla=xformla,
    ).fit(est_method=est_method, bstrap=False)
    r = fit.results
    return {
        "cells": [
            {"group": int(g), "time": int(t), "att": _f(a), "se": _f(s)}
            for g, t, a, s in zip(r["group"], r["year"], r["att"], r["se"], strict=True)
        ]
    }


def imp_cell(df: pd.DataFrame) -> dict:
    """ATT(2004, 2006) with lpop by drdid_imp_panel: cohort 2004 vs never treated, base 2003."""
    from moderndid import drdid_imp_panel

    wide = df.pivot(index="countyreal", columns="year", values="lemp")
    first = df.groupby("countyreal")[["first.treat", "lpop"]].first()
    keep = first["first.treat"].isin([2004, 0])
    d = (first.loc[keep, "first.treat"] == 2004).astype(float).to_numpy()
    x = np.column_stack([np.ones(keep.sum()), first.loc[keep, "lpop"].to_numpy()])
    res = drdid_imp_panel(
        wide.loc[keep, 2006].to_numpy(), wide.loc[keep, 2003].to_numpy(), d, x, influence_func=True
    )
    n_all, n_cell = len(first), int(keep.sum())
    se_cell = float(
        np.std(res.att_inf_func if hasattr(res, "att_inf_func") else res.influence_func, ddof=0)
        / np.sqrt(n_cell)
    )
    return {
        "group": 2004,
        "time": 2006,
        "att": _f(res.att),
        "se_cell": se_cell,
        "n_cell": n_cell,
        "n_units": n_all,
    }


def rc_cells(df: pd.DataFrame) -> dict:
    """ATT(2004, 2006) with lpop on repeated cross-sections: mpdta rows with
    (countyreal + year) % 5 != 0, years 2003 and 2006, cohort 2004 vs never treated."""
    from moderndid import drdid_rc, reg_did_rc, std_ipw_did_rc

    keep = (df["countyreal"] + df["year"]) % 5 != 0
    rows = df.loc[keep & df["year"].isin([2003, 2006]) & df["first.treat"].isin([2004, 0])]
    y = rows["lemp"].to_numpy()
    post = (rows["year"] == 2006).to_numpy(float)
    d = (rows["first.treat"] == 2004).to_numpy(float)
    x = np.column_stack([np.ones(len(rows)), rows["lpop"].to_numpy()])
    out = {"rule": "(countyreal + year) % 5 != 0", "n_rows": len(rows)}
    for name, fn in (("reg", reg_did_rc), ("ipw", std_ipw_did_rc), ("dr_traditional", drdid_rc)):
        res = fn(y, post, d, x, influence_func=True)
        inf = res.att_inf_func if hasattr(res, "att_inf_func") else res.influence_func
        out[name] = {
            "att": _f(res.att),
            "se_cell": float(np.sqrt(np.mean(np.asarray(inf) ** 2) / len(rows))),
        }
    return out


def main() -> None:
    df = pd.read_csv(MPDTA)
    out = {
        "source": "generated by tests/reference/callaway_santanna/generate.py",
        "versions": {},
        "cases": {},
    }
    for name in ("moderndid", "diff_diff", "csdid"):
        try:
            from importlib.metadata import version

            out["versions"][name] = version(name.replace("_", "-"))
        except Exception:
            out["versions"][name] = None
    cases = out["cases"]
    cases["never_varying"] = {
        "didstudy": {"method": "dr"},
        "moderndid": moderndid_case(df),
        "diff_diff": diffdiff_case(df, None),
        "csdid": csdid_case(df, None, "dr"),
    }
    for method, theirs in (("dr_traditional", "dr"), ("ipw", "ipw"), ("reg", "reg")):
        cases[f"lpop_{method}"] = {
            "didstudy": {"method": method, "covariates": ["lpop"]},
            "moderndid": moderndid_case(df, xformla="~lpop", est_method=theirs),
            "csdid": csdid_case(df, "~lpop", theirs),
        }
    cases["lpop_dr_traditional"]["diff_diff"] = diffdiff_case(df, ["lpop"], estimation_method="dr")
    cases["notyet_varying"] = {
        "didstudy": {"control_group": "notyet"},
        "moderndid": moderndid_case(df, control_group="notyettreated"),
        "diff_diff": diffdiff_case(df, None, control_group="not_yet_treated"),
    }
    cases["never_universal"] = {
        "didstudy": {"base_period": "universal"},
        "moderndid": moderndid_case(df, base_period="universal"),
    }
    cases["notyet_anticipation1"] = {
        "didstudy": {"control_group": "notyet", "anticipation": 1},
        "moderndid": moderndid_case(df, control_group="notyettreated", anticipation=1),
    }
    out["imp_cell"] = imp_cell(df)
    out["rc_cell"] = rc_cells(df)
    (HERE / "peers.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
