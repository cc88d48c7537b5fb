"""Content-addressed cache of step results.

A step's key is the SHA-256 of the code version (package version + hash of the package's source
files), the step's fingerprint (kind, function, arguments) and the hash of its input data. A rerun
with unchanged inputs loads the cached result instead of recomputing it. The cache lives in
``<out>/.cache`` (carried over from the previous report) unless another directory is given.

Report folders travel (mailed, unzipped, shared), so an entry is never trusted for what it is:
it is written with :mod:`didstudy.study.safe_codec` (JSON + ``.npz``, no pickle: loading cannot
run code) and signed with the machine secret over its key and bytes; an entry whose signature
does not verify (planted, tampered, truncated, written on another machine) is a miss. Files of any
other name in the folder (``*.pkl`` of older versions included) are never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from didstudy.study.safe_codec import Unencodable, decode, encode
from didstudy.study.secret import sign, verify

__all__ = ["ENTRY_SUFFIX", "StepCache", "cache_key", "code_version"]

ENTRY_SUFFIX = ".entry"
_MAC_LENGTH = 64  # hex SHA-256


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


def _mac(key: str, body: bytes) -> str:
    return sign(key.encode("ascii") + b"\0" + body)


def _pack(key: str, body: bytes) -> bytes:
    return _mac(key, body).encode("ascii") + b"\n" + body


def _unpack(key: str, payload: bytes) -> bytes | None:
    """The body of a signed entry, or ``None`` when the signature does not verify."""
    mac, body = payload[:_MAC_LENGTH], payload[_MAC_LENGTH + 1 :]
    if payload[_MAC_LENGTH : _MAC_LENGTH + 1] != b"\n":
        return None
    signed = key.encode("ascii") + b"\0" + body
    return body if verify(signed, mac.decode("ascii", "replace")) else None


class StepCache:
    """Signed, pickle-free step results by key: read from ``read_dirs``, written to ``write_dir``.

    Unsigned, tampered, corrupt or unreadable entries count as misses. ``hits`` and ``misses``
    count lookups. With ``read=False`` nothing is read (every step recomputes) but results are
    still stored. A value the safe codec cannot represent is not stored (the step recomputes).
    """

    def __init__(
        self, write_dir: Path | None, read_dirs: tuple[Path, ...] = (), *, read: bool = True
    ) -> None:
        self.write_dir = write_dir
        dirs = (write_dir, *read_dirs) if read else ()
        self.read_dirs = tuple(d for d in dirs if d is not None)
        self.hits = 0
        self.misses = 0

    def _load(self, key: str, path: Path) -> tuple[Any, bytes] | None:
        try:
            payload = path.read_bytes()
            body = _unpack(key, payload)
            return None if body is None else (decode(body), payload)
        except Exception:  # any failure of an untrusted file is a miss, never a crash
            return None

    def get(self, key: str) -> Any | None:
        for directory in self.read_dirs:
            path = directory / f"{key}{ENTRY_SUFFIX}"
            if path.is_symlink() or not path.is_file():
                continue
            found = self._load(key, path)
            if found is None:
                continue
            self.hits += 1
            if self.write_dir is not None and directory != self.write_dir:
                self._store_bytes(key, found[1])
            return found[0]
        self.misses += 1
        return None

    def put(self, key: str, value: Any) -> None:
        if self.write_dir is None:
            return
        try:
            body = encode(value)
        except (Unencodable, ValueError, TypeError):
            return
        self._store_bytes(key, _pack(key, body))

    def _store_bytes(self, key: str, payload: bytes) -> None:
        assert self.write_dir is not None
        self.write_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.write_dir, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(name, self.write_dir / f"{key}{ENTRY_SUFFIX}")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
