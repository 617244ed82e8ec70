"""Atomic file writes: a reader never sees a half-written file (temporary name, fsync,
rename), shared by the recording writer and the wiring cache."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _umask_mode()


def _commit(tmp, path) -> None:
    """Give a finished temporary file the process's file mode and rename it onto ``path``."""
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)


def _discard(tmp) -> None:
    """Remove a temporary file if it is still there."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


def atomic_write(path, writer, fsync: bool = True) -> None:
    """Call ``writer(binary file object)`` on a temporary file beside ``path``, then rename
    it to ``path``; on any error the temporary file is removed and ``path`` is left as it
    was. ``fsync=False`` skips flushing to the disk before the rename (a crash of the
    process still leaves a whole file or none; a crash of the OS may leave it empty)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        _commit(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


def atomic_write_named(path, writer) -> Path:
    """Call ``writer(temporary path)`` for a name beside ``path`` (the file does not exist
    yet), then rename it to ``path``; on any error the temporary file is removed and
    ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    os.unlink(tmp)
    try:
        writer(tmp)
        _commit(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    return path


# --------------------------------------------------------------------------------------
# Output and cache paths, checked before any work starts (issue 13).

#: Kernel-provided file systems: nothing an l5sim run writes belongs there.
VIRTUAL_ROOTS = ("/proc", "/sys", "/dev")


def _path_error(option, path, why):
    from .errors import PathError

    return PathError(f"{option}: got {str(path)!r}; {why}")


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_common(path, option) -> Path:
    if path is None or not str(path).strip():
        raise _path_error(option, "" if path is None else path, "expected a path (an empty one would mean the "
                                                                "current directory)")
    if "\x00" in str(path):
        raise _path_error(option, path, "expected a path without a NUL character")
    p = Path(os.path.abspath(os.path.expanduser(str(path))))
    for root in VIRTUAL_ROOTS:
        if str(p) == root or str(p).startswith(root + os.sep):
            raise _path_error(option, path, f"expected a path outside {root} (a virtual file system of the kernel)")
    return p


def _os_guard(check):
    """Turn the OSError of a path that the OS refuses to look at (too long, ...) into a
    PathError naming the option."""
    def guarded(path, option: str = "--out") -> Path:
        try:
            return check(path, option)
        except OSError as e:
            from .errors import PathError

            if isinstance(e, PathError):
                raise
            raise _path_error(option, str(path)[:80] + ("..." if len(str(path)) > 80 else ""),
                              f"expected a usable path ({e.strerror or e})") from None
    guarded.__doc__ = check.__doc__
    guarded.__name__ = check.__name__
    return guarded


@_os_guard
def check_dir(path, option: str = "--out") -> Path:
    """The absolute directory ``path`` if l5sim can create or write it, else a
    :class:`~l5sim.errors.PathError` naming ``option`` (empty, under /proc, /sys or /dev, an
    existing file, below a file, or not writable). Creates nothing."""
    p = _check_common(path, option)
    if p.exists() and not p.is_dir():
        raise _path_error(option, path, "expected a directory, but this is an existing file")
    base = _nearest_existing(p)
    if not base.is_dir():
        raise _path_error(option, path, f"expected a directory, but {str(base)!r} is a file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise _path_error(option, path, f"expected a writable directory ({str(base)!r} is not writable)")
    return p


@_os_guard
def check_file(path, option: str = "--out") -> Path:
    """The absolute file ``path`` if l5sim can write it, else a PathError (empty, virtual
    file system, an existing directory, a file as its folder, not writable)."""
    p = _check_common(path, option)
    if p.is_dir():
        raise _path_error(option, path, "expected a file name, but this is a directory")
    base = _nearest_existing(p.parent)
    if not base.is_dir():
        raise _path_error(option, path, f"expected a file in a directory, but {str(base)!r} is a file")
    if not os.access(base, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise _path_error(option, path, "expected a writable location")
    return p


def remove_stale_temporaries(directory, names) -> list[str]:
    """Remove the temporary files that an interrupted :func:`atomic_write` or
    :func:`atomic_write_named` of any of ``names`` left in ``directory`` (``.NAME.*.tmp``,
    ``.NAME.*.tmp.SUFFIX``); returns the names removed."""
    d = Path(directory)
    gone = []
    if not d.is_dir():
        return gone
    for name in names:
        for tmp in [*d.glob(f".{name}.*.tmp"), *d.glob(f".{name}.*.tmp.*")]:
            try:
                tmp.unlink()
                gone.append(tmp.name)
            except OSError:
                pass
    return gone


def clear_outputs(directory, names) -> list[str]:
    """Before a command writes its outputs into ``directory``: remove every file of
    ``names`` (the command's own outputs, from an earlier run) and their stale
    temporaries, so that the directory never mixes two runs (an old raster.png beside a new
    recording after ``--no-plot``); returns the names removed."""
    d = Path(directory)
    gone = remove_stale_temporaries(d, names)
    for name in names:
        f = d / name
        if f.is_file() or f.is_symlink():
            f.unlink()
            gone.append(name)
    return gone
