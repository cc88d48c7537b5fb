"""The step cache cannot run planted code and ignores tampered entries (issue 10, item 2)."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from didstudy.results.regression import RegressionResult
from didstudy.study.cache import ENTRY_SUFFIX, StepCache, cache_key
from didstudy.study.run import run_study
from didstudy.study.safe_codec import Unencodable, decode, encode
from didstudy.study.secret import secret_path

SMALL_STUDY = """\
[study]
title = "cache"
formats = ["md"]

[data.castle]
dataset = "castle"

[panel]
data = "castle"
unit = "state"
time = "year"
treat = "post"

[[steps]]
kind = "twfe"
name = "baseline"
y = "l_homicide"
treat = "post"

[[steps]]
kind = "event_study"
name = "dynamic"
y = "l_homicide"

[[steps]]
kind = "regression_table"
name = "table"
columns = ["baseline"]
"""
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


class _Boom:
    """Unpickling this runs ``open(<path>, "w")``: the planted-code probe."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series | pd.Index):
        try:
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b)
            elif isinstance(a, pd.Series):
                pd.testing.assert_series_equal(a, b)
            else:
                pd.testing.assert_index_equal(a, b)
        except AssertionError:
            return False
        return True
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
            if f.compare
        )  # fmt: skip
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True) | st.binary(max_size=16)
)  # fmt: skip
_ARRAYS = hnp.arrays(
    st.sampled_from([np.float64, np.int64, np.bool_, np.int32]),
    hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
)
_FRAMES = st.builds(
    lambda n, seed, names: pd.DataFrame(
        {
            names[0]: np.random.default_rng(seed).normal(size=n),
            names[1]: [f"u{i}" for i in range(n)],
            names[2]: np.arange(n, dtype=np.int64),
        }
    ),
    st.integers(0, 6), st.integers(0, 100),
    st.lists(st.text(min_size=1, max_size=4), min_size=3, max_size=3, unique=True),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS | _ARRAYS | _FRAMES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(0, 9), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(value=_VALUES)
def test_fuzz_codec_round_trips_every_allowed_value(value: Any) -> None:
    assert _same(decode(encode(value)), value)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 4), seed=st.integers(0, 1000), depvar=st.text(max_size=6))
def test_fuzz_codec_round_trips_result_dataclasses(k: int, seed: int, depvar: str) -> None:
    rng = np.random.default_rng(seed)
    params = rng.normal(size=k)
    result = RegressionResult(
        terms=tuple(f"x{i}" for i in range(k)), params=params, cov=np.eye(k), nobs=10, df_t=5,
        vcov_type="CRV1", clusters=("unit",), ssc="fixest", fit_stats={"r2": 0.5},
        depvar=depvar,
    )  # fmt: skip
    back = decode(encode(result))
    assert _same(back, result)
    assert back.tidy().equals(result.tidy())


@dataclasses.dataclass(frozen=True)
class _Foreign:
    x: int


def test_only_allow_listed_dataclasses_are_encoded_or_rebuilt() -> None:
    with pytest.raises(Unencodable):
        encode(_Foreign(1))
    with pytest.raises(Unencodable):
        encode(object())
    good = encode({"a": 1})
    for target in ("os:system", "subprocess:Popen", "didstudy.study.run:run_study",
                   "builtins:open", "didstudy.results.regression:np.ndarray"):  # fmt: skip
        doc = json.dumps({"$dc": target, "f": {}}).encode("utf-8")
        forged = _with_document(good, doc)
        with pytest.raises(ValueError):
            decode(forged)


def _with_document(payload: bytes, document: bytes) -> bytes:
    import io

    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["__doc__"] = np.frombuffer(document, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(position=st.integers(0, 10_000), flip=st.integers(1, 255))
def test_fuzz_a_tampered_entry_is_a_miss_never_a_crash(
    tmp_path_factory: pytest.TempPathFactory, position: int, flip: int
) -> None:
    folder = tmp_path_factory.mktemp("cache")
    key = cache_key("step", "data")
    StepCache(folder).put(key, {"estimate": np.arange(5.0), "name": "twfe"})
    path = folder / f"{key}{ENTRY_SUFFIX}"
    payload = bytearray(path.read_bytes())
    payload[position % len(payload)] ^= flip
    path.write_bytes(bytes(payload))
    cache = StepCache(folder)
    assert cache.get(key) is None
    assert (cache.hits, cache.misses) == (0, 1)


def test_an_entry_signed_on_another_machine_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = cache_key("step", "data")
    StepCache(tmp_path / "c").put(key, 1.5)
    assert StepCache(tmp_path / "c").get(key) == 1.5
    monkeypatch.setenv("DIDSTUDY_SECRET_FILE", str(tmp_path / "other-machine-secret"))
    assert secret_path() == tmp_path / "other-machine-secret"
    assert StepCache(tmp_path / "c").get(key) is None


def test_planted_pickles_in_a_received_report_never_run(tmp_path: Path) -> None:
    """The attack of the issue: a report folder from someone else with a planted cache."""
    study = tmp_path / "study.toml"
    study.write_text(SMALL_STUDY, encoding="utf-8")
    out = tmp_path / "report"
    first = run_study(study, out)
    assert first.records
    probe = tmp_path / "pwned"
    bomb = pickle.dumps(_Boom(str(probe)))
    entries = sorted((out / ".cache").iterdir())
    assert entries and all(p.name.endswith(ENTRY_SUFFIX) for p in entries)
    for entry in entries:
        key = entry.name[: -len(ENTRY_SUFFIX)]
        entry.write_bytes(bomb)  # the entry itself replaced by a pickle
        (out / ".cache" / f"{key}.pkl").write_bytes(bomb)  # and the old file name
    second = run_study(study, out)
    assert not probe.exists()
    assert {r.status for r in second.records} == {"ok"}  # every step recomputed
    assert not any(p.suffix == ".pkl" for p in (out / ".cache").iterdir())
    third = run_study(study, out)
    assert {r.status for r in third.records} == {"cached"}
    assert not probe.exists()
    assert sorted(os.listdir(tmp_path)) == ["report", "study.toml"]
