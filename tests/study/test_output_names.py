"""Output file names: unique, portable, refused when two steps would overwrite each other
(issue 10, "two steps whose names reduce to the same file name")."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didstudy.errors import SpecError
from didstudy.study.names import MAX_STEM, output_stem
from didstudy.study.plan import make_plan
from didstudy.study.run import run_study
from didstudy.study.spec import parse_spec

HEAD = """\
[study]
title = "names"
formats = ["md", "csv"]

[data.panel]
dataset = "castle"

[panel]
data = "panel"
unit = "state"
time = "year"
treat = "post"

[[steps]]
kind = "twfe"
name = "a"
y = "l_homicide"
treat = "post"
"""


def _table(name: str) -> str:
    return f'\n[[steps]]\nkind = "regression_table"\nname = "{name}"\ncolumns = ["a"]\n'


def test_chinese_names_no_longer_collapse_and_true_collisions_are_refused(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(HEAD + _table("表一") + _table("表二"), encoding="utf-8")
    outcome = run_study(study, tmp_path / "report")
    tables = sorted(p.name for p in (tmp_path / "report" / "tables").iterdir())
    assert {"表一.md", "表二.md", "表一.csv", "表二.csv"} <= set(tables), tables
    assert len(outcome.records) == 3
    with pytest.raises(SpecError) as info:
        make_plan(parse_spec(HEAD + _table("Table 1") + _table("table-1"), Path("s.toml")))
    message = str(info.value)
    assert "'Table 1' and 'table-1'" in message and "table-1.*" in message
    assert "line 22" in message and "line 27" in message


_NAMES = st.text(
    alphabet=st.sampled_from([*"Tabl e1-_.:/\\*?<>|\"' ", "表", "一", "二", "é", "É", "ß", "\t"]),
    min_size=1, max_size=30,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(names=st.lists(_NAMES, min_size=1, max_size=6, unique=True))
def test_fuzz_stems_are_portable_and_distinct_or_refused(names: list[str]) -> None:
    stems = [output_stem(name, index) for index, name in enumerate(names)]
    for stem in stems:
        assert stem and len(stem) <= MAX_STEM
        assert not set(stem) & set('/\\:*?"<>| \t') and stem not in (".", "..")
        assert not stem.startswith("-")
    from didstudy.study.names import check_unique_outputs

    if len(set(stems)) == len(stems):
        check_unique_outputs(enumerate(names), lambda key: "s.toml")
    else:
        with pytest.raises(SpecError, match="would both write"):
            check_unique_outputs(enumerate(names), lambda key: "s.toml")
