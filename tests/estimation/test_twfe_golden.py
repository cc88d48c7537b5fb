"""TWFE against pyfixest golden files (tests/reference/twfe; regenerate with generate.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from didstudy.estimation.twfe import twfe

REF = Path(__file__).resolve().parents[1] / "reference" / "twfe"
GOLDEN = json.loads((REF / "golden.json").read_text(encoding="utf-8"))
#: Coefficients: both sides demean to ~1e-14; 1e-8 relative leaves room for pyfixest's solver.
COEF_RTOL = 1e-8
#: Standard errors: same sandwich, different summation order (brief: 1e-6).
SE_RTOL = 1e-6

CASES = [(name, k) for name, case in GOLDEN["cases"].items() for k in case["results"]]


def _vcov(spec: Any) -> Any:
    if isinstance(spec, dict):
        ((key, value),) = spec.items()
        return {key.lower(): value}
    return {"hetero": "hc1"}.get(spec, spec)


@pytest.mark.parametrize(("name", "fixef_k"), CASES)
def test_twfe_matches_pyfixest(name: str, fixef_k: str) -> None:
    case = GOLDEN["cases"][name]
    ref = case["results"][fixef_k]
    df = pd.read_csv(REF / f"data_{name}.csv")
    res = twfe(
        df,
        "y",
        "d",
        ["x1", "x2"],
        fe=case["fe"],
        weights=case["weights"],
        vcov=_vcov(case["vcov"]),
        ssc={"fixef_k": fixef_k},
        unit="unit",
        time="time",
    )
    terms = list(ref["coef"])
    assert list(res.terms) == terms
    np.testing.assert_allclose(
        res.coef[terms].to_numpy(), [ref["coef"][t] for t in terms], rtol=COEF_RTOL
    )
    np.testing.assert_allclose(
        res.se[terms].to_numpy(), [ref["se"][t] for t in terms], rtol=SE_RTOL
    )
    assert res.nobs == ref["nobs"]
    assert res.df_t == int(ref["df_t"])
