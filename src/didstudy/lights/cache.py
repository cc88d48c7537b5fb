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
#: Default size bound of the per-user lights cache (about four China-sized overlays with their
#: cell indexes and a few thousand raster results); ``$DIDSTUDY_CACHE_MAX_GB`` changes it.
DEFAULT_MAX_GB = 2.0
_ENTRY_PREFIXES = ("overlay-", "result-")


def max_cache_bytes() -> int:
    """The cache's size bound in bytes: ``$DIDSTUDY_CACHE_MAX_GB`` (a number > 0) or 2 GB.

    Examples
    --------
    >>> max_cache_bytes() > 0
    True
    """
    text = os.environ.get("DIDSTUDY_CACHE_MAX_GB", "")
    try:
        value = float(text) if text else DEFAULT_MAX_GB
    except ValueError:
        value = DEFAULT_MAX_GB
    if not (value > 0 and value < 1e6):
        value = DEFAULT_MAX_GB
    return int(value * 1e9)


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
        self.prune(self.directory / f"result-{key}.npz")

    def prune(self, keep: Path) -> list[str]:
        """Delete the least recently written cache entries (only this cache's own
        ``overlay-*.npz`` / ``result-*.npz`` files, never ``keep``) until the directory's
        entries fit :func:`max_cache_bytes`; return the names deleted."""
        entries = []
        for path in self.directory.iterdir():
            if path.suffix == ".npz" and path.name.startswith(_ENTRY_PREFIXES) and path != keep:
                try:
                    info = path.stat()
                except OSError:
                    continue
                entries.append((info.st_mtime, info.st_size, path))
        kept = keep.stat().st_size if keep.exists() else 0
        total = kept + sum(size for _, size, _ in entries)
        bound = max_cache_bytes()
        deleted = []
        for _, size, path in sorted(entries):
            if total <= bound:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= size
            deleted.append(path.name)
        return deleted
