"""Writing files so that a reader never sees half of one, and removing what crashes leave behind."""
from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

#: Marker in the name of every temporary made by :func:`atomic_path`.
TMP_MARK = ".tmp"


def temporary_name(target: os.PathLike | str) -> Path:
    """A fresh temporary path beside ``target``, for :func:`atomic_path`.

    The name starts with a dot (hidden, and never a final name of the cache),
    holds :data:`TMP_MARK` so :func:`prune_temporaries` can find it after a
    crash, and ends with the target's suffix because some writers insist on it
    (Keras only saves to ``.keras``, ``numpy.save`` appends ``.npy`` otherwise).

    Parameters
    ----------
    target : path-like
        The final path.

    Returns
    -------
    pathlib.Path
        A path in the same folder as ``target`` (``os.replace`` is atomic only
        within one file system).
    """
    target = Path(target)
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}{TMP_MARK}{target.suffix}")


def is_temporary(name: str) -> bool:
    """Whether a file name was made by :func:`temporary_name`."""
    return name.startswith(".") and TMP_MARK in name


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: os.PathLike | str) -> Iterator[Path]:
    """Yield a temporary path to write; move it onto ``target`` on success.

    The temporary lies in the target's folder, so the final ``os.replace`` is
    atomic: a reader sees the old file or the complete new one, never a part.
    When the block raises, the temporary (file or folder) is removed and
    ``target`` is left as it was.

    Parameters
    ----------
    target : path-like
        Final path. Its folder must exist.

    Yields
    ------
    pathlib.Path
        The temporary path; it does not exist yet. The block may create a file
        or a folder there. A folder replaces ``target`` only when ``target`` is
        absent or an empty folder (``os.replace`` semantics).

    Raises
    ------
    FileNotFoundError
        When the block created nothing at the temporary path.
    """
    target = Path(target)
    tmp = temporary_name(target)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp.name} for {target.name}")
        os.replace(tmp, target)
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)


def atomic_write_bytes(path: os.PathLike | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    path : path-like
        Destination; its folder must exist.
    data : bytes
        The whole content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return path


def _entries(folder: Path) -> list[Path]:
    """The folder's entries in name order; none when it does not exist."""
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _age_s(path: Path, now: float) -> Optional[float]:
    try:
        return now - path.lstat().st_mtime
    except FileNotFoundError:
        return None


def prune_temporaries(
    folder: os.PathLike | str,
    max_age_s: float = 3600.0,
    match: Callable[[str], bool] = is_temporary,
) -> list[str]:
    """Remove temporaries that a crashed writer left in ``folder``.

    Only entries older than ``max_age_s`` go: a younger one may belong to a
    writer that is still running.

    Parameters
    ----------
    folder : path-like
        Folder to clean (not recursive). A missing folder is fine.
    max_age_s : float
        Minimum age, from the last modification, of what is removed.
    match : callable
        Which names are temporaries; :func:`is_temporary` by default.

    Returns
    -------
    list of str
        Names removed.
    """
    now = time.time()
    removed = []
    for path in _entries(Path(folder)):
        if not match(path.name):
            continue
        age = _age_s(path, now)
        if age is None or age < max_age_s:
            continue
        try:
            _remove(path)
        except OSError:  # read-only or vanished: nothing to do about it here
            continue
        removed.append(path.name)
    return removed


def prune_folders(
    parent: os.PathLike | str,
    keep: Iterable[str],
    max_age_s: float = 86400.0,
) -> list[str]:
    """Remove old sibling folders of ``parent``, except those in ``keep``.

    Meant for versioned output folders such as ``static/thumbs/<fingerprint>``:
    the current one is kept, and so is any folder modified within
    ``max_age_s`` (another server process may still serve from it).

    Parameters
    ----------
    parent : path-like
        Folder whose sub-folders are considered. A missing folder is fine.
    keep : iterable of str
        Names of sub-folders never removed.
    max_age_s : float
        Folders modified more recently than this are kept.

    Returns
    -------
    list of str
        Names of the folders removed.
    """
    keep = set(keep)
    now = time.time()
    removed = []
    for path in _entries(Path(parent)):
        if path.name in keep or path.is_symlink() or not path.is_dir():
            continue
        age = _age_s(path, now)
        if age is None or age < max_age_s:
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path.name)
    return removed
