"""A per-user secret that authenticates what didstudy wrote (report markers, cache entries).

Files inside a report folder can come from anyone (reports are mailed, unzipped, shared); only
what carries an HMAC made with this machine's secret is trusted as didstudy's own. The secret is
32 random bytes in ``$DIDSTUDY_SECRET_FILE`` or ``$XDG_CONFIG_HOME/didstudy/secret`` (default
``~/.config/didstudy/secret``), created on first use with mode 0600. When it cannot be created
(read-only home), a per-process secret is used: nothing written earlier is then trusted, which is
safe (reports are not replaced, cached steps are recomputed).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

__all__ = ["machine_secret", "secret_path", "sign", "verify"]

SECRET_BYTES = 32


def secret_path() -> Path:
    """Where the secret lives (see the module docstring)."""
    explicit = os.environ.get("DIDSTUDY_SECRET_FILE")
    if explicit:
        return Path(explicit)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "didstudy" / "secret"


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        os.write(fd, secrets.token_bytes(SECRET_BYTES))
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(name, path)  # never overwrite a secret another process just created
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


@lru_cache(maxsize=4)
def _load(path: Path) -> bytes:
    try:
        if not path.is_file():
            _create(path)
        data = path.read_bytes()
    except OSError:
        return secrets.token_bytes(SECRET_BYTES)
    return data if len(data) >= SECRET_BYTES else secrets.token_bytes(SECRET_BYTES)


def machine_secret() -> bytes:
    """The secret bytes (created on first use)."""
    return _load(secret_path())


def sign(payload: bytes) -> str:
    """Hex HMAC-SHA256 of ``payload`` under the machine secret."""
    return hmac.new(machine_secret(), payload, hashlib.sha256).hexdigest()


def verify(payload: bytes, mac: object) -> bool:
    """Whether ``mac`` is the HMAC of ``payload`` (constant-time comparison)."""
    return isinstance(mac, str) and hmac.compare_digest(sign(payload), mac)
