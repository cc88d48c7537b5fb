"""The study-level Dagum table prints the decomposition exactly as the result holds it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
from didstudy.data.simulate import simulate_staggered
from didstudy.errors import DataError
from didstudy.study.tables import dagum_table

# printed to 4 decimals: each printed component is within half a unit of the last digit
PRINT_TOL = 0.5e-4 + 1e-12


def _result() -> object:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "time": np.repeat([2001, 2002], 30),
            "group": np.tile(np.repeat(["a", "b", "c"], 10), 2),
            "value": rng.lognormal(0, 0.6, 60),
        }
    )
    return ds.dagum_panel(frame, value="value", group="group", time="time")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dagum_table_rows_add_up(lang: str) -> None:
    result = _result()
    table = dagum_table(result, lang=lang, number=8)
    assert table.title.startswith("表8" if lang == "zh" else "Table 8")
    rows = [row.grid() for row in table.body]
    assert [r[0] for r in rows] == ["2001", "2002"]
    components = result.components  # type: ignore[attr-defined]
    for row, (_, truth) in zip(rows, components.iterrows(), strict=True):
        g, gw, gnb, gt = (float(x) for x in row[1:5])
        assert abs(g - truth["G"]) <= PRINT_TOL
        assert abs(g - (gw + gnb + gt)) <= 4 * PRINT_TOL
        assert abs(sum(float(x) for x in row[5:8]) - 100) <= 0.015


def test_dagum_table_rejects_other_input() -> None:
    with pytest.raises(DataError, match="lack the column"):
        dagum_table(pd.DataFrame({"x": [1]}))


# balance is printed to 3 decimals: half a unit of the last digit
BALANCE_TOL = 0.5e-3 + 1e-12


@pytest.fixture(scope="module")
def psm() -> object:
    df = simulate_staggered(
        n_units=60, periods=range(2001, 2009), cohorts={2004: 10, 2006: 10}, n_never=40,
        n_controls=2, seed=11,
    )  # fmt: skip
    panel = ds.Panel(df, unit="unit", time="time", treat="treat")
    return ds.psm_did(panel, "y", "treat", covariates=["x1", "x2"], controls=["x1", "x2"], seed=1)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_balance_step_prints_a_psm_result(psm: object, lang: str) -> None:
    """The registered balance_table step takes the PSM-DID result itself: pooled standardised
    differences before/after in percent (header and values agree), then one block per year."""
    from didstudy.study.registry import REGISTRY, resolve_function

    function, target = resolve_function(REGISTRY["balance_table"])
    assert function is not None and target == "didstudy.study.tables:balance_table"
    raw = psm.balance  # type: ignore[attr-defined]
    pooled = raw[raw["scope"] == "pooled"].reset_index(drop=True)
    table = function(psm, lang=lang, number="5a", name="psm_balance")
    assert table.title.startswith("表5a" if lang == "zh" else "Table 5a")
    header = [c.text for c in table.header[-1].cells]
    assert ("（%）" in header[3]) if lang == "zh" else ("(%)" in header[3])
    assert len(table.body) == len(pooled) == 2
    for row, truth in zip(table.body, pooled.to_dict(orient="records"), strict=True):
        cells = [float(x) for x in row.grid()[1:]]
        assert abs(cells[0] - truth["mean_treated_before"]) <= BALANCE_TOL
        assert abs(cells[1] - truth["mean_control_before"]) <= BALANCE_TOL
        assert abs(cells[2] - 100 * truth["smd_before"]) <= BALANCE_TOL
        assert abs(cells[5] - 100 * truth["smd_after"]) <= BALANCE_TOL
    years = sorted(set(raw.loc[raw["scope"] != "pooled", "time"]))
    assert len(years) >= 2
    by_year = function(psm, lang=lang, per_year=True)
    assert len(by_year.body) == (1 + len(years)) * (1 + 2)
    spans = [r.grid()[0] for r in by_year.body if r.cells[0].colspan == by_year.n_cols]
    assert spans[1:] == [f"{int(y)} 年" if lang == "zh" else str(int(y)) for y in years]
    one = function(psm, lang=lang, per_year=[years[0]])
    assert len(one.body) == 2 * 3
    with pytest.raises(DataError, match="no balance for the year"):
        function(psm, lang=lang, per_year=[1900])
    fraction = function(psm, lang=lang, percent=False)
    value = float(fraction.body[0].grid()[3])
    assert abs(value - pooled.loc[0, "smd_before"]) <= BALANCE_TOL
    assert "%" not in fraction.header[-1].cells[3].text
