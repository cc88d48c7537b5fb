"""The report folder: what didstudy may replace, and an interrupt-safe swap.

A report folder carries a signed marker (:data:`MARKER`): the SHA-256 of every file didstudy wrote
there, authenticated with the machine secret (:mod:`didstudy.study.secret`). ``--out`` is replaced
only when

* it is not the current folder, the home folder, a filesystem root, nor a folder holding the
  study file or one of its data files (or any of their parents);
* it is empty, or carries a valid marker and every file in it is one didstudy wrote, unchanged
  (files a user added or edited make the run refuse, naming them; nothing is deleted).

The finished report is built in ``.<out>.build-XXXX`` beside ``out`` (locked with ``flock`` while
its run lives) and swapped in under a lock of the parent folder with a journal
(``.<out>.swap.json``): write journal → ``out`` → ``.<out>.old-XXXX`` → build → ``out`` → remove
the old report → remove the journal. An interrupt at any point leaves the old or the new report
complete; the next run (or the interrupted process itself) completes the journal and removes stale
build/old folders whose owner has died.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from didstudy.errors import SpecError
from didstudy.study.secret import sign, verify

try:  # POSIX; elsewhere runs are not serialised (documented limitation)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MARKER",
    "check_out",
    "read_marker",
    "recover",
    "report_files",
    "staging_directory",
    "write_marker",
]

MARKER = ".didstudy-report.json"
CACHE_DIR = ".cache"
MARKER_FORMAT = 1
# files listed in a refusal message before "(and N more)"
SHOWN_FILES = 5


def _checkpoint(label: str) -> None:
    """A no-op between the steps of the swap; tests replace it to simulate interrupts."""


def _refuse(message: str, fix: str) -> SpecError:
    return SpecError(message, fix=fix)


# ---------------------------------------------------------------------------------- the marker


def _digest(path: Path) -> str:
    if path.is_symlink():
        return "symlink:" + hashlib.sha256(os.readlink(path).encode("utf-8")).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def report_files(root: Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``root`` (marker and cache aside)."""
    files: dict[str, str] = {}
    for directory, subdirs, names in os.walk(root, followlinks=False):
        here = Path(directory)
        if here == root:
            subdirs[:] = [d for d in subdirs if d != CACHE_DIR]
        links = [d for d in subdirs if (here / d).is_symlink()]
        for name in sorted([*names, *links]):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if relative != MARKER:
                files[relative] = _digest(path)
    return files


def _payload(files: dict[str, str]) -> bytes:
    return json.dumps({"format": MARKER_FORMAT, "files": files}, sort_keys=True).encode("utf-8")


def write_marker(stage: Path) -> None:
    """Write the signed list of the files in ``stage`` (call when the report is complete)."""
    files = report_files(stage)
    document = {"format": MARKER_FORMAT, "files": files, "mac": sign(_payload(files))}
    (stage / MARKER).write_text(json.dumps(document, sort_keys=True, indent=1), encoding="utf-8")


def read_marker(out: Path) -> dict[str, str] | None:
    """The files a valid marker lists, or ``None`` (no marker, unreadable, or not signed here)."""
    try:
        document = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    files = document.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return None
    if document.get("format") != MARKER_FORMAT or not verify(_payload(files), document.get("mac")):
        return None
    return files


# ------------------------------------------------------------------------ what may be replaced


def _shown(names: Sequence[str]) -> str:
    text = ", ".join(f"'{n}'" for n in names[:SHOWN_FILES])
    return text + (f" (and {len(names) - SHOWN_FILES} more)" if len(names) > SHOWN_FILES else "")


def _check_protected(out: Path, protect: Sequence[Path]) -> None:
    real = Path(os.path.realpath(out))
    keep: list[tuple[Path, str]] = [
        (Path.cwd(), "the current folder"),
        (Path.home(), "your home folder"),
        (Path(real.anchor), "the filesystem root"),
    ]
    keep += [(p, f"'{p}'") for p in protect]
    for path, what in keep:
        target = Path(os.path.realpath(path))
        if target == real or real in target.parents:
            raise _refuse(
                f"--out '{out}' is or holds {what}; didstudy replaces the whole --out folder and "
                "would delete it",
                "choose a new folder for the report, e.g. --out report",
            )


def _check_location(out: Path) -> None:
    for parent in out.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise _refuse(
                    f"--out '{out}' lies under '{parent}', which is a file, not a folder",
                    "choose an --out path whose parents are folders",
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise _refuse(
                    f"--out '{out}': the folder '{parent}' is not writable",
                    "choose an --out folder you can write to",
                )
            return


def check_out(out: Path, protect: Sequence[Path] = ()) -> None:
    """Raise :class:`SpecError` unless ``out`` may be (created or) replaced by a report."""
    out = Path(out).absolute()
    _check_protected(out, protect)
    if not os.path.lexists(out):
        _check_location(out)
        return
    if out.is_symlink() or not out.is_dir():
        raise _refuse(
            f"output path '{out}' exists and is not a directory (a file or a symbolic link)",
            "choose another --out folder",
        )
    _check_location(out)
    if not any(out.iterdir()):
        return
    listed = read_marker(out)
    if listed is None:
        raise _refuse(
            f"--out folder '{out}' is not empty and is not a report didstudy wrote on this "
            f"machine (no valid {MARKER}); refusing to replace it",
            "choose an empty or new --out folder, or delete this one yourself",
        )
    present = report_files(out)
    foreign = sorted(name for name in present if name not in listed)
    edited = sorted(name for name in present if name in listed and listed[name] != present[name])
    if foreign or edited:
        parts = []
        if foreign:
            parts.append(f"files didstudy did not write: {_shown(foreign)}")
        if edited:
            parts.append(f"files edited since didstudy wrote them: {_shown(edited)}")
        raise _refuse(
            f"--out folder '{out}' holds " + "; ".join(parts) + "; refusing to delete them",
            "move these files out of the report folder (it is replaced as a whole), or choose "
            "another --out",
        )


# ------------------------------------------------------------------------------ locks, recovery


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on the folder ``path``; yields False when ``wait=False`` and
    another process holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _names(out: Path) -> tuple[Path, str, str]:
    return out.parent / f".{out.name}.swap.json", f".{out.name}.build-", f".{out.name}.old-"


def _rmtree(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _journal(out: Path) -> tuple[Path | None, Path | None] | None:
    journal, build, old = _names(out)
    try:
        document: Any = json.loads(journal.read_text(encoding="utf-8"))
        new_name, old_name = document["new"], document["old"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    new_ok = isinstance(new_name, str) and new_name.startswith(build) and "/" not in new_name
    old_ok = isinstance(old_name, str) and old_name.startswith(old) and "/" not in old_name
    return (out.parent / new_name if new_ok else None, out.parent / old_name if old_ok else None)


def _complete_journal(out: Path) -> None:
    journal = _names(out)[0]
    if not os.path.lexists(journal):
        return
    found = _journal(out)
    new, old = found if found is not None else (None, None)
    if os.path.lexists(out):  # not begun (new still staged) or done (old still there)
        for path in (new, old):
            if path is not None and os.path.lexists(path):
                _rmtree(path)
    elif old is not None and old.is_dir():  # out moved away, new not in: roll back
        os.replace(old, out)
        if new is not None and os.path.lexists(new):
            _rmtree(new)
    elif new is not None and new.is_dir():  # first report: finish it
        os.replace(new, out)
    journal.unlink()


def _remove_stale(out: Path) -> None:
    _, build, old = _names(out)
    for entry in sorted(out.parent.iterdir()):
        if not entry.name.startswith((build, old)) or entry.is_symlink() or not entry.is_dir():
            continue
        with _locked(entry, wait=False) as free:
            if not free:
                continue  # a live run is building there
        legacy = entry / "report"  # didstudy < 0.2 nested the old report here
        if entry.name.startswith(old) and not os.path.lexists(out) and legacy.is_dir():
            os.replace(legacy, out)
        _rmtree(entry)


def recover(out: Path) -> None:
    """Complete an interrupted swap of ``out`` and remove stale build/old folders beside it."""
    out = Path(out).absolute()
    if not out.parent.is_dir():
        return
    with _locked(out.parent):
        _complete_journal(out)
        _remove_stale(out)


def _write_journal(out: Path, new: Path, old: Path | None) -> None:
    journal = _names(out)[0]
    text = json.dumps({"new": new.name, "old": old.name if old is not None else None})
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.journal-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(name, journal)


def _swap(out: Path, stage: Path, protect: Sequence[Path]) -> None:
    with _locked(out.parent):
        check_out(out, protect)  # files may have been added to out while the study ran
        try:
            old = None
            if os.path.lexists(out):
                old = out.parent / f"{_names(out)[2]}{secrets.token_hex(4)}"
            _write_journal(out, stage, old)
            _checkpoint("journal")
            if old is not None:
                os.replace(out, old)
                _checkpoint("moved-out")
            os.replace(stage, out)
            _checkpoint("moved-in")
            if old is not None:
                _rmtree(old)
                _checkpoint("removed-old")
            _names(out)[0].unlink()
        except BaseException:
            with contextlib.suppress(BaseException):
                _complete_journal(out)
            raise


def _lock_fd(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _new_stage(out: Path) -> tuple[Path, int]:
    """A new build folder, already locked (so no other run's cleanup can take it)."""
    with _locked(out.parent):
        stage = Path(tempfile.mkdtemp(prefix=_names(out)[1], dir=out.parent))
        fd = _lock_fd(stage)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)
    return stage, fd


@contextlib.contextmanager
def staging_directory(out: Path, protect: Sequence[Path] = ()) -> Iterator[Path]:
    """Yield a fresh folder beside ``out``; on success it replaces ``out`` (journaled swap).

    Parameters
    ----------
    out
        The report folder.
    protect
        Files and folders that must survive (the study file, its data files): ``out`` may be
        neither one of them nor hold one.

    On any exception the staging folder is removed and ``out`` is left untouched. ``out`` is
    replaced only under the conditions of :func:`check_out`; stale folders of earlier,
    interrupted runs are cleaned first.

    Examples
    --------
    >>> with staging_directory(Path("report")) as stage:  # doctest: +SKIP
    ...     (stage / "results.json").write_text("{}")
    """
    out = Path(out).absolute()
    check_out(out, protect)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover(out)
    stage, fd = _new_stage(out)
    try:
        try:
            yield stage
            write_marker(stage)
        except BaseException:
            _rmtree(stage)
            raise
        _swap(out, stage, protect)
    finally:
        os.close(fd)
