"""Content-addressed cache of step results.

A step's key is the SHA-256 of the code version (package version + hash of the package's source
files), the step's fingerprint (kind, function, arguments) and the hash of its input data. A rerun
with unchanged inputs loads the pickled result instead of recomputing it. The cache lives in
``<out>/.cache`` (carried over from the previous report) unless another directory is given.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["StepCache", "cache_key", "code_version"]


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version + SHA-256 of every ``.py`` file of the installed ``didstudy`` package."""
    import didstudy

    root = Path(didstudy.__file__).parent
    digest = hashlib.sha256(didstudy.__version__.encode("utf-8"))
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode("utf-8"))
        digest.update(path.read_bytes())
    return f"{didstudy.__version__}+{digest.hexdigest()[:16]}"


def cache_key(fingerprint: str, data_hash: str) -> str:
    """Key of one step: code version, step fingerprint and data hash."""
    text = json.dumps([code_version(), fingerprint, data_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StepCache:
    """Pickled step results by key: read from ``read_dirs``, written to ``write_dir``.

    Corrupt or unreadable entries count as misses. ``hits`` and ``misses`` count lookups. With
    ``read=False`` nothing is read (every step recomputes) but results are still stored.
    """

    def __init__(
        self, write_dir: Path | None, read_dirs: tuple[Path, ...] = (), *, read: bool = True
    ) -> None:
        self.write_dir = write_dir
        dirs = (write_dir, *read_dirs) if read else ()
        self.read_dirs = tuple(d for d in dirs if d is not None)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Any | None:
        for directory in self.read_dirs:
            path = directory / f"{key}.pkl"
            if not path.is_file():
                continue
            try:
                with path.open("rb") as handle:
                    value = pickle.load(handle)
            except Exception:
                continue
            self.hits += 1
            if self.write_dir is not None and directory != self.write_dir:
                self._store_bytes(key, path.read_bytes())
            return value
        self.misses += 1
        return None

    def put(self, key: str, value: Any) -> None:
        if self.write_dir is None:
            return
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return
        self._store_bytes(key, payload)

    def _store_bytes(self, key: str, payload: bytes) -> None:
        assert self.write_dir is not None
        self.write_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.write_dir, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(name, self.write_dir / f"{key}.pkl")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
