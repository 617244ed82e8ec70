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
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
