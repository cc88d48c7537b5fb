"""The one resampling engine: a seeded draw generator and a chunked executor.

Every repeated computation of the library goes through this module: placebo draws
(:func:`didstudy.inference.placebo.placebo`), the permutation test of the heterogeneity
comparison (:func:`didstudy.estimation.heterogeneity.permutation_test`), the coming wild
bootstrap, and the rasters of the lights pipeline.

* :class:`DrawGenerator` wraps :func:`numpy.random.default_rng` (the only source of randomness)
  and produces permutations, random subsets and choices in fixed-size blocks, and the weight
  vectors of the wild bootstrap (Rademacher, Mammen 1993, Webb 2014 six-point, standard normal).
* :func:`run_chunks` evaluates ``func(shared, (start, stop))`` over contiguous chunks of draws
  with any :class:`Executor` and writes each chunk's result back in order, so the result never
  depends on the executor or on the completion order.
* Every executor runs ``func(shared, item)`` for each item, sending ``shared`` to each worker once,
  and yields ``(index, result)`` as results complete: in-process (serial or threads), a local
  process pool, or a Dask cluster.
"""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from didstudy.errors import MissingDependencyError, ValidationError

__all__ = [
    "RNG_BLOCK",
    "DaskExecutor",
    "DrawGenerator",
    "Executor",
    "ExecutorKind",
    "ProcessExecutor",
    "SerialExecutor",
    "ThreadExecutor",
    "WeightKind",
    "get_executor",
    "run_chunks",
]

ExecutorKind = Literal["serial", "threads", "processes", "dask"]


class Executor(Protocol):
    """Runs ``func(shared, item)`` over items; yields ``(index, result)`` in completion order."""

    def imap(
        self, func: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]: ...

    def describe(self) -> dict[str, Any]: ...


class SerialExecutor:
    """In-process, one item after another (the default; no pickling).

    ``prefetch=True`` (default) lets :func:`didstudy.lights.zonal.zonal_stats` read the next
    raster in one background thread while the current one is computed (two float64 window
    buffers); ``prefetch=False`` is strictly sequential with one buffer (lowest memory).
    """

    def __init__(self, prefetch: bool = True) -> None:
        self.prefetch = prefetch

    def imap(
        self, func: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        for i, item in enumerate(items):
            yield i, func(shared, item)

    def describe(self) -> dict[str, Any]:
        return {"kind": "serial"} if self.prefetch else {"kind": "serial", "prefetch": False}


class _PoolExecutor:
    """A local pool of ``workers`` (default 2, never more than there are items)."""

    kind = "pool"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValidationError(f"workers must be at least 1, not {workers}")
        self.workers = workers

    def _pool(self, func: Callable[[Any, Any], Any], shared: Any, size: int) -> Any:
        raise NotImplementedError

    def _submit(self, pool: Any, func: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
        raise NotImplementedError

    def imap(
        self, func: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        if not items:
            return
        with self._pool(func, shared, min(self.workers or 2, len(items))) as pool:
            futures = {self._submit(pool, func, shared, item): i for i, item in enumerate(items)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers}


class ThreadExecutor(_PoolExecutor):
    """A thread pool in this process: the overlay is shared, not copied.

    GDAL releases the GIL while decoding tiles and scipy's sparse mat-vec runs in C, so two
    threads overlap one raster's read with another's statistics at no memory cost beyond one
    read buffer per thread.
    """

    kind = "threads"

    def _pool(self, func: Callable[[Any, Any], Any], shared: Any, size: int) -> Any:
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(size)

    def _submit(self, pool: Any, func: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
        return pool.submit(func, shared, item)


_WORKER_STATE: dict[str, Any] = {}


def _init_worker(func: Callable[[Any, Any], Any], shared: Any) -> None:
    _WORKER_STATE["func"] = func
    _WORKER_STATE["shared"] = shared


def _call_worker(item: Any) -> Any:
    return _WORKER_STATE["func"](_WORKER_STATE["shared"], item)


class ProcessExecutor(_PoolExecutor):
    """A local process pool; ``shared`` is pickled once per worker (pool initializer).

    Uses the ``spawn`` start method so it is safe in processes that run threads.
    """

    kind = "processes"

    def _pool(self, func: Callable[[Any, Any], Any], shared: Any, size: int) -> Any:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            size, mp_context=ctx, initializer=_init_worker, initargs=(func, shared)
        )

    def _submit(self, pool: Any, func: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
        return pool.submit(_call_worker, item)


class DaskExecutor:
    """A Dask distributed cluster: ``shared`` is scattered (broadcast) once, items mapped.

    Parameters
    ----------
    scheduler
        ``"tcp://host:port"`` of a running scheduler, or an existing ``distributed.Client``.
    """

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def imap(
        self, func: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        try:
            distributed = importlib.import_module("distributed")
        except ImportError as exc:
            raise MissingDependencyError(
                "distributed", "dask", "Running on a Dask cluster"
            ) from exc
        if not items:
            return
        own = not isinstance(self.scheduler, distributed.Client)
        client = distributed.Client(self.scheduler) if own else self.scheduler
        try:
            remote = client.scatter(shared, broadcast=True)
            futures = [client.submit(func, remote, item, pure=False) for item in items]
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in distributed.as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            if own:
                client.close()

    def describe(self) -> dict[str, Any]:
        address = self.scheduler if isinstance(self.scheduler, str) else "client"
        return {"kind": "dask", "scheduler": address}


def get_executor(
    kind: ExecutorKind | None = None, *, workers: int | None = None, scheduler: Any = None
) -> Executor:
    """Choose an executor: a scheduler address implies Dask; ``workers > 1`` a process pool."""
    if kind is None:
        kind = (
            "dask"
            if scheduler is not None
            else ("processes" if workers is not None and workers > 1 else "serial")
        )
    if kind == "serial":
        return SerialExecutor()
    if kind == "threads":
        return ThreadExecutor(workers)
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        if scheduler is None:
            raise ValidationError(
                "the Dask executor needs a scheduler address",
                fix="pass scheduler='tcp://host:port'",
            )
        return DaskExecutor(scheduler)
    raise ValidationError(
        f"unknown executor {kind!r}", fix="use serial, threads, processes or dask"
    )


# --------------------------------------------------------------------------------------------
# chunked execution


def run_chunks(
    func: Callable[[Any, tuple[int, int]], Any],
    shared: Any,
    total: int,
    chunk: int,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Evaluate ``func(shared, (start, stop))`` over contiguous chunks of ``range(total)``.

    Parameters
    ----------
    func
        Computes the draws ``start..stop-1``; must be a module-level function for the process
        and Dask executors (it is pickled).
    shared
        Read-only state sent to every worker once (a design, a kernel, the draws).
    total, chunk
        Number of draws and draws per chunk (at least 1).
    executor
        Any :class:`Executor`; default in-process serial.
    progress
        Called as ``progress(done, total)`` after every completed chunk.

    Returns
    -------
    list
        The chunks' results in the order of the chunks, whatever order they completed in.

    Examples
    --------
    >>> import numpy as np
    >>> parts = run_chunks(lambda s, span: s[span[0] : span[1]].sum(), np.arange(10.0), 10, 4)
    >>> [float(p) for p in parts]
    [6.0, 22.0, 17.0]
    """
    step = max(1, int(chunk))
    spans = [(start, min(start + step, total)) for start in range(0, total, step)]
    run = executor if executor is not None else SerialExecutor()
    out: list[Any] = [None] * len(spans)
    done = 0
    for index, value in run.imap(func, shared, spans):
        out[index] = value
        done += spans[index][1] - spans[index][0]
        if progress is not None:
            progress(done, total)
    return out


# --------------------------------------------------------------------------------------------
# seeded draws

#: Draws generated per call of the random generator: fixed, so that draw ``r`` depends on the
#: seed only, never on how the caller chunks the work or on the total number of draws.
RNG_BLOCK = 256

WeightKind = Literal["rademacher", "mammen", "webb", "normal"]

_SQRT5 = 5.0**0.5
#: Mammen (1993) two-point weights and their probabilities (mean 0, variance 1, skewness 1).
_MAMMEN_VALUES = (-(_SQRT5 - 1.0) / 2.0, (_SQRT5 + 1.0) / 2.0)
_MAMMEN_P = (_SQRT5 + 1.0) / (2.0 * _SQRT5)
#: Webb (2014) six-point weights: +-sqrt(1/2), +-1, +-sqrt(3/2) with equal probability.
_WEBB_VALUES = np.array([-(1.5**0.5), -1.0, -(0.5**0.5), 0.5**0.5, 1.0, 1.5**0.5])


@dataclass
class DrawGenerator:
    """Seeded draws for every resampling procedure (placebo, permutation, bootstrap).

    A thin layer over :func:`numpy.random.default_rng` (the only source of randomness of the
    library) that fixes *how* draws are taken from the stream, so that two procedures asking
    for the same kind of draw with the same seed get the same numbers, and draw ``r`` does not
    depend on the number of draws or the chunking.

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`; ``None`` draws a fresh seed from the operating
        system's entropy. :attr:`seed_used` is the seed actually used either way: recording it
        and passing it back reproduces every draw.

    Examples
    --------
    >>> gen = DrawGenerator(1)
    >>> gen.permutations(np.array([True, False, False]), 2).shape
    (3, 2)
    >>> DrawGenerator(7).weights("rademacher", 4, 2).shape
    (4, 2)
    """

    seed: int | None = None

    def __post_init__(self) -> None:
        if self.seed is None:
            self.seed_used = int(np.random.SeedSequence().entropy % 2**63)  # type: ignore[operator]
        else:
            self.seed_used = int(self.seed)
        self.rng = np.random.default_rng(self.seed_used)

    def permutations(self, values: npt.NDArray[Any], reps: int) -> npt.NDArray[Any]:
        """``len(values) x reps``: column ``r`` a uniform random permutation of ``values``."""
        return np.stack([self.rng.permutation(values) for _ in range(reps)], axis=1)

    def subsets(self, size: int, n: int, k: int) -> npt.NDArray[np.int64]:
        """``size x k`` distinct indices out of ``range(n)`` per row (uniform random subsets).

        One block of :data:`RNG_BLOCK` rows of uniform keys is drawn and the first ``size``
        rows are kept (``argpartition`` of the keys; ``argsort`` when ``k == n``).
        """
        keys = self.rng.random((RNG_BLOCK, n))[:size]
        if k < n:
            return np.argpartition(keys, k - 1, axis=1)[:, :k].astype(np.int64)
        return np.argsort(keys, axis=1).astype(np.int64)

    def shuffled(self, size: int, values: npt.NDArray[Any], k: int) -> npt.NDArray[Any]:
        """``size x k``: per row the first ``k`` of a random permutation of ``values``."""
        keys = self.rng.random((RNG_BLOCK, values.size))[:size]
        return values[np.argsort(keys, axis=1)[:, :k]]

    def choices(self, size: int, values: npt.NDArray[Any], k: int) -> npt.NDArray[Any]:
        """``size x k`` draws from ``values`` with replacement (one block of indices)."""
        idx = self.rng.integers(0, values.size, (RNG_BLOCK, k))[:size]
        return values[idx]

    def weights(self, kind: WeightKind, n: int, reps: int) -> npt.NDArray[np.float64]:
        """``n x reps`` wild-bootstrap weights (mean 0, variance 1).

        ``"rademacher"``: +-1 with probability 1/2; ``"mammen"``: Mammen (1993) two-point;
        ``"webb"``: Webb (2014) six-point; ``"normal"``: standard normal.
        """
        if kind == "rademacher":
            return self.rng.integers(0, 2, (n, reps)).astype(np.float64) * 2.0 - 1.0
        if kind == "mammen":
            low = self.rng.random((n, reps)) < _MAMMEN_P
            return np.where(low, _MAMMEN_VALUES[0], _MAMMEN_VALUES[1])
        if kind == "webb":
            return _WEBB_VALUES[self.rng.integers(0, 6, (n, reps))]
        if kind == "normal":
            return self.rng.standard_normal((n, reps))
        raise ValidationError(
            f"unknown bootstrap weight {kind!r}", fix="use rademacher, mammen, webb or normal"
        )
