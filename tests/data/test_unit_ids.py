"""Unit ids are names: ``NA``/``None``/``null`` stay units, near-duplicates are pointed out
(issue 10, "Units")."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.data.io import read_table
from didstudy.data.units import near_duplicate_ids
from didstudy.study.run import prepare

STUDY = """\
[data.panel]
path = "panel.csv"

[panel]
data = "panel"
unit = "unit"
time = "year"
treat = "d"
"""


def _csv(units: list[str]) -> str:
    rows = ["unit,year,d,y"]
    for i, unit in enumerate(units):
        for year in (2000, 2001, 2002):
            rows.append(f"{unit},{year},{int(i % 2 == 0 and year == 2002)},{i + year / 1e4}")
    return "\n".join(rows) + "\n"


def test_na_none_null_are_units_and_near_duplicates_warned(tmp_path: Path) -> None:
    (tmp_path / "panel.csv").write_text(
        _csv(["NA", "None", "null", "Alabama", "Alabama ", "Te\u200bxas", "Texas", "1", "1.0"]),
        encoding="utf-8",
    )
    frame = read_table(tmp_path / "panel.csv", text_columns=["unit"])
    assert frame["unit"].isna().sum() == 0
    assert {"NA", "None", "null"} <= set(frame["unit"])
    (tmp_path / "study.toml").write_text(STUDY, encoding="utf-8")
    _, context = prepare(tmp_path / "study.toml")
    assert context.frame["unit"].nunique() == 9
    (warning,) = [w for w in context.panel_warnings if "differ only" in w]
    assert "'Alabama' vs 'Alabama '" in warning and "'1' vs '1.0'" in warning
    assert "'Te\\u200bxas' vs 'Texas'" in warning or "'Texas' vs 'Te\\u200bxas'" in warning


def test_whole_number_ids_stay_integers(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(_csv(["1", "2", "10"]), encoding="utf-8")
    frame = read_table(tmp_path / "p.csv", text_columns=["unit"])
    assert frame["unit"].dtype == "int64"


_BASE = st.sampled_from(["Alabama", "Texas", "北京市", "7", "NA", "None", "x y"])
_VARIANT = st.sampled_from(
    [lambda s: s, lambda s: s + " ", lambda s: " " + s, lambda s: s.upper(),
     lambda s: s[:1] + "\u200b" + s[1:], lambda s: s + ".0" if s.isdigit() else s]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(_BASE, _VARIANT), min_size=1, max_size=8))
def test_fuzz_invisible_variants_are_always_grouped(pairs: list[tuple[str, object]]) -> None:
    values = [variant(base) for base, variant in pairs]  # type: ignore[operator]
    groups = near_duplicate_ids(values)
    grouped = {v for g in groups for v in g}
    for base in {b for b, _ in pairs}:
        variants = {v for (b, f), v in zip(pairs, values, strict=True) if b == base}
        if len(variants) > 1:
            assert variants <= grouped, (variants, groups)
    for group in groups:
        assert len(set(group)) == len(group) > 1


def test_cli_panel_keeps_na_units_and_warns_near_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from didstudy.cli import main

    path = tmp_path / "panel.csv"
    path.write_text(_csv(["NA", "null", "Alabama", "Alabama "]), encoding="utf-8")
    assert main(["panel", str(path), "-u", "unit", "-t", "year", "-d", "d", "--json"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert '"n_units": 4' in out and "'Alabama' vs 'Alabama '" in out
