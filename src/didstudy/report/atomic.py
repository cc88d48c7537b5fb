"""Atomic file writes: write a temporary file in the target directory, then ``os.replace``.

A reader never sees a half-written table, figure or report, and a crash leaves the previous
version (or nothing) in place.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it over ``path`` atomically.

    Parameters
    ----------
    path
        Final destination. Its parent directory is created if missing.

    Yields
    ------
    Path
        A fresh temporary file name in the same directory (same file system, so that
        ``os.replace`` is atomic). Write to it by name; it is removed if the block raises.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would survive os.replace; "x" mode honours the umask.
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "xb"):
        pass
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the final path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (``\\n`` line endings kept as is)."""
    return atomic_write_bytes(path, text.encode(encoding))
