"""Canonical JSON, the atomic report swap and the step cache."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from didstudy.errors import SpecError
from didstudy.study.artifacts import FLOAT_DIGITS, canonical_json, jsonable, staging_directory
from didstudy.study.cache import ENTRY_SUFFIX, StepCache, cache_key, code_version
from didstudy.study.outdir import MARKER


def test_jsonable_normalises_numbers_and_containers() -> None:
    value = {
        "b": [np.float64(0.1) + np.float64(0.2), np.float32(1.5), np.int64(3), -0.0],
        "a": (math.nan, math.inf, -math.inf, None, np.bool_(True)),
        "frame": pd.DataFrame({"x": [1.0, np.nan]}),
        "series": pd.Series([2.0], index=["k"]),
        "array": np.array([[1, 2]]),
        "set": {3, 1, 2},
    }
    out = jsonable(value)
    assert out["b"] == [0.3, 1.5, 3, 0.0]
    assert out["a"] == [None, None, None, None, True]
    assert out["frame"] == [{"x": 1.0}, {"x": None}]
    assert out["series"] == {"k": 2.0}
    assert out["array"] == [[1, 2]]
    assert out["set"] == [1, 2, 3]
    assert jsonable(1 / 3) == float(f"{1 / 3:.{FLOAT_DIGITS}g}")


def test_canonical_json_does_not_depend_on_insertion_order() -> None:
    first = canonical_json({"b": 1, "a": {"y": 2.0, "x": [1, 2]}, "c": "中文"})
    second = canonical_json({"c": "中文", "a": {"x": [1, 2], "y": 2.0}, "b": 1})
    assert first == second
    assert "中文" in first and first.endswith("\n")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != MARKER
    }


def test_staging_swaps_on_success_and_keeps_the_old_report_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with staging_directory(out) as stage:
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
        (stage / "a.txt").write_text("first", encoding="utf-8")
    assert _tree(out) == {"manifest.json": b"{}", "a.txt": b"first"}
    with pytest.raises(RuntimeError), staging_directory(out) as stage:
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
        (stage / "b.txt").write_text("second", encoding="utf-8")
        raise RuntimeError("step failed")
    assert _tree(out) == {"manifest.json": b"{}", "a.txt": b"first"}
    with staging_directory(out) as stage:
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
    assert _tree(out) == {"manifest.json": b"{}"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_staging_refuses_a_foreign_directory_or_file(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(SpecError, match="refusing"), staging_directory(tmp_path / "mine"):
        pass
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(SpecError, match="not a directory"), staging_directory(tmp_path / "file"):
        pass
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_step_cache_round_trip_corruption_and_no_read(tmp_path: Path) -> None:
    key = cache_key("fingerprint", "data")
    assert key != cache_key("fingerprint", "other data")
    assert code_version().startswith("0.")
    cache = StepCache(tmp_path / "new", (tmp_path / "old",))
    assert cache.get(key) is None
    cache.put(key, {"estimate": 1.0})
    assert cache.get(key) == {"estimate": 1.0}
    assert (cache.hits, cache.misses) == (1, 1)
    (tmp_path / "new" / f"{key}{ENTRY_SUFFIX}").write_bytes(b"not an entry")
    assert cache.get(key) is None
    carried = StepCache(tmp_path / "next", (tmp_path / "new",), read=False)
    carried.put(key, 2)
    assert carried.get(key) is None
    assert StepCache(tmp_path / "other", (tmp_path / "next",)).get(key) == 2
    assert (tmp_path / "other" / f"{key}{ENTRY_SUFFIX}").is_file()
