"""Bundled data sets load with their provenance and documented shapes."""

from __future__ import annotations

import pytest

import didstudy
from didstudy.data.datasets import dataset_info, list_datasets, load_dataset
from didstudy.errors import DataError


@pytest.mark.parametrize(
    ("name", "shape", "needle"),
    [
        ("castle", (550, 159), "Cheng & Hoekstra"),
        ("mpdta", (2500, 6), "Callaway & Sant'Anna"),
        ("divorce", (3366, 147), "Stevenson & Wolfers"),
    ],
)
def test_load(name: str, shape: tuple[int, int], needle: str) -> None:
    df = didstudy.load_dataset(name)
    assert df.shape == shape
    assert df.attrs["dataset"] == name
    roles = df.attrs["roles"]
    for key in ("unit", "time", "outcome"):
        assert roles[key] in df.columns
    assert needle in dataset_info(name)
    df["new"] = 1  # each call returns a fresh frame
    assert "new" not in load_dataset(name).columns


def test_unknown_dataset() -> None:
    assert list_datasets() == ["castle", "divorce", "mpdta"]
    with pytest.raises(DataError, match=r"unknown data set 'cars'.*\nFix: use one of castle"):
        load_dataset("cars")
