"""BLAS threads for the library's kernels: one thread for small problems.

On a small problem (the reference study's 500 placebo draws on 274 x 20 rows) a multi-threaded
BLAS spends more time waking and synchronising threads than computing, and on a busy machine the
threads fight over the cores: 84 ms with the default threads against 24 ms with one (issue 9).
:func:`kernel_threads` limits BLAS to one thread inside a kernel whose work is below
:data:`SMALL_WORK` and leaves larger problems to the library's default. The limit is set with
threadpoolctl (an optional dependency: without it nothing is changed) and undone on exit.
``DIDSTUDY_BLAS_THREADS`` (an integer) overrides the choice for every kernel.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["SMALL_WORK", "blas_threads", "kernel_threads"]

#: Work (floating-point values a kernel touches, e.g. ``n x R`` of a block of draws) below which
#: one BLAS thread is faster than several: 2^24 doubles = 128 MB.
SMALL_WORK = 2**24


def blas_threads(work: float) -> int | None:
    """The BLAS thread count for a kernel touching ``work`` values (None: the default)."""
    override = os.environ.get("DIDSTUDY_BLAS_THREADS", "").strip()
    if override:
        return max(1, int(override))
    return 1 if work < SMALL_WORK else None


@functools.cache
def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - threadpoolctl is in the lock file
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def kernel_threads(work: float) -> Iterator[int | None]:
    """Run the body with :func:`blas_threads` threads; yields the limit applied (None: none).

    Examples
    --------
    >>> with kernel_threads(1_000) as limit:
    ...     limit
    1
    """
    limit = blas_threads(work)
    controller = _controller() if limit is not None else None
    if controller is None:
        yield None
        return
    with controller.limit(limits=limit, user_api="blas"):
        yield limit
