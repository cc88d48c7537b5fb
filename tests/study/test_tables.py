"""The study-level Dagum table prints the decomposition exactly as the result holds it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import didstudy as ds
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
