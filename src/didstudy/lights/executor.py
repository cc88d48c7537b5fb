"""One executor interface for many rasters: in-process, a process pool, or a Dask cluster.

Every executor runs ``func(shared, item)`` for each item, sending ``shared`` (the overlay) to each
worker once, and yields ``(index, result)`` as results complete.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal, Protocol

from didstudy.errors import ValidationError
from didstudy.lights.raster import require

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "ProcessExecutor",
    "SerialExecutor",
    "ThreadExecutor",
    "get_executor",
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


class ThreadExecutor:
    """A thread pool in this process: the overlay is shared, not copied.

    GDAL releases the GIL while decoding tiles and scipy's sparse mat-vec runs in C, so two
    threads overlap one raster's read with another's statistics at no memory cost beyond one
    read buffer per thread.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValidationError(f"workers must be at least 1, not {workers}")
        self.workers = workers

    def imap(
        self, func: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        from concurrent.futures import ThreadPoolExecutor

        if not items:
            return
        with ThreadPoolExecutor(min(self.workers or 2, len(items))) as pool:
            futures = {pool.submit(func, shared, item): i for i, item in enumerate(items)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    def describe(self) -> dict[str, Any]:
        return {"kind": "threads", "workers": self.workers}


_WORKER_STATE: dict[str, Any] = {}


def _init_worker(func: Callable[[Any, Any], Any], shared: Any) -> None:
    _WORKER_STATE["func"] = func
    _WORKER_STATE["shared"] = shared


def _call_worker(item: Any) -> Any:
    return _WORKER_STATE["func"](_WORKER_STATE["shared"], item)


class ProcessExecutor:
    """A local process pool; ``shared`` is pickled once per worker (pool initializer).

    Uses the ``spawn`` start method so it is safe in processes that run threads.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValidationError(f"workers must be at least 1, not {workers}")
        self.workers = workers

    def imap(
        self, func: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        if not items:
            return
        ctx = multiprocessing.get_context("spawn")
        workers = min(self.workers or 2, len(items))
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(func, shared)
        ) as pool:
            futures = {pool.submit(_call_worker, item): i for i, item in enumerate(items)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    def describe(self) -> dict[str, Any]:
        return {"kind": "processes", "workers": self.workers}


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
        distributed = require("distributed", "Running on a Dask cluster")
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
