"""The library picks BLAS threads for its kernels: one for small problems, the default else."""

from __future__ import annotations

import pytest

from didstudy.kernels.threads import SMALL_WORK, blas_threads, kernel_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_small_kernels_run_on_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIDSTUDY_BLAS_THREADS", raising=False)
    assert blas_threads(1_000) == 1 and blas_threads(SMALL_WORK * 2) is None
    before = _blas_threads()
    with kernel_threads(1_000) as limit:
        assert limit == 1 and set(_blas_threads()) <= {1}
    assert _blas_threads() == before
    with kernel_threads(SMALL_WORK * 2) as limit:
        assert limit is None and _blas_threads() == before


def test_environment_overrides_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIDSTUDY_BLAS_THREADS", "2")
    assert blas_threads(1_000) == 2 and blas_threads(SMALL_WORK * 2) == 2
