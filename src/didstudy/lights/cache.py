"""Content-hash cache of overlays and per-raster zonal results (a rerun skips finished rasters)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["ResultCache", "default_cache_dir", "file_digest"]

_CHUNK = 1 << 23


def default_cache_dir() -> Path:
    """The per-user lights cache: ``$DIDSTUDY_CACHE_DIR``, else ``$XDG_CACHE_HOME/didstudy/lights``,
    else ``~/.cache/didstudy/lights`` (overlays with their cell index, per-raster results).

    Examples
    --------
    >>> default_cache_dir().name in ("lights", os.environ.get("DIDSTUDY_CACHE_DIR", "lights"))
    True
    """
    explicit = os.environ.get("DIDSTUDY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "didstudy" / "lights"


def file_digest(path: str | Path) -> str:
    """BLAKE2b digest of a file's bytes (streamed; memory stays at one chunk)."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ResultCache:
    """A directory of ``overlay-<key>.npz`` and ``result-<key>.npz`` files.

    A result's key hashes the raster's content, the overlay key and the statistics parameters, so
    a changed raster, zone layer, method or correction is recomputed, never served stale.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def overlay_path(self, key: str) -> Path:
        return self.directory / f"overlay-{key}.npz"

    def key(self, raster: str | Path, overlay_key: str, params: str) -> str:
        h = hashlib.blake2b(digest_size=20)
        for part in (file_digest(raster), overlay_key, params):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()

    def get(self, key: str) -> dict[str, NDArray[np.float64]] | None:
        path = self.directory / f"result-{key}.npz"
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def put(self, key: str, result: dict[str, NDArray[np.float64]]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".npz")
        os.close(fd)
        np.savez(tmp, **result)  # type: ignore[arg-type]
        os.replace(tmp, self.directory / f"result-{key}.npz")
