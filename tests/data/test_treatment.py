"""Treatment timing helpers: cohorts from adoption lists, indicators, event time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from didstudy.data.treatment import (
    cohorts_from_adoption,
    event_time,
    to_period,
    treatment_from_cohort,
)
from didstudy.errors import DataError, PanelWarning, ValidationError


def test_adoption_dates_duplicates_and_unmatched() -> None:
    table = pd.DataFrame(
        {
            "城市": ["赣州市", "赣州市", "郴州市", "荆州市", "北京市"],
            "批复日期": ["2013-06-21", "2011-01-12", "2011-10-24", 2010, "2012-05-01"],
        }
    )
    panel_units = ["赣州市", "郴州市", "荆州市", "上海市"]
    with pytest.warns(PanelWarning) as rec:
        g = cohorts_from_adoption(table, panel_units, unit_col="城市", date_col="批复日期")
    text = " ".join(str(w.message) for w in rec)
    assert "listed more than once; the earliest period is kept: '赣州市': [2011, 2013]" in text
    assert "1 adopting unit(s) are not in the panel and are ignored: 北京市" in text
    assert g.to_dict() == {"荆州市": 2010, "赣州市": 2011, "郴州市": 2011}
    assert g.attrs["unmatched"] == ["北京市"] and g.name == "cohort"
    assert table.shape == (5, 2)  # input untouched


def test_adoption_forms_and_periods() -> None:
    assert cohorts_from_adoption({"a": "2010-03-01", "b": 2012}).to_dict() == {
        "a": 2010,
        "b": 2012,
    }
    s = pd.Series(pd.to_datetime(["2010-03-01", "2011-11-30"]), index=[1, 2])
    assert cohorts_from_adoption(s, period="month").to_dict() == {1: 201003, 2: 201111}
    assert cohorts_from_adoption(s, period="quarter").to_dict() == {1: 20101, 2: 20114}
    two = pd.DataFrame({"u": ["x"], "d": ["2015-01-01"]})
    assert cohorts_from_adoption(two).to_dict() == {"x": 2015}
    with pytest.warns(PanelWarning, match="no date and are ignored: units b"):
        assert cohorts_from_adoption({"a": 2010, "b": None}).to_dict() == {"a": 2010}


def test_adoption_errors() -> None:
    with pytest.raises(ValidationError) as err:
        cohorts_from_adoption({"a": "2010-13-45", "b": "soon"})
    msg = str(err.value)
    assert "neither integer periods nor dates" in msg and "'soon'" in msg and "Fix:" in msg
    with pytest.raises(ValidationError) as err:
        cohorts_from_adoption({"110000": 2010}, [110000, 120000])
    msg = str(err.value)
    assert "none of the 1 adopting units appear in the panel" in msg and "type str" in msg
    assert "type int" in msg and ".astype(str)" in msg
    with pytest.raises(ValidationError, match="unit_col= and date_col="):
        cohorts_from_adoption(pd.DataFrame({"a": [1], "b": [2], "c": [3]}))
    with pytest.raises(DataError, match="did you mean 'date'"):
        cohorts_from_adoption(pd.DataFrame({"u": [1], "date": [2]}), unit_col="u", date_col="Date")
    with pytest.raises(ValidationError, match="unknown period"):
        to_period(pd.Series([2010]), "week")  # type: ignore[arg-type]


def test_indicator_and_event_time() -> None:
    time = np.array([2000, 2005, 2010, 2010, 2010])
    cohort = np.array([2005, 2005, 2005, 0, np.inf])
    np.testing.assert_array_equal(treatment_from_cohort(time, cohort), [0, 1, 1, 0, 0])
    np.testing.assert_array_equal(event_time(time, cohort), [-5, 0, 5, np.nan, np.nan])
    np.testing.assert_array_equal(treatment_from_cohort(time, [np.nan] * 5), [0] * 5)
