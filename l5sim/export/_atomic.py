"""Atomic writes for libraries that open the output file by name (h5py via pynwb, nixio)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .._io import _FILE_MODE


def write_atomically(path, writer) -> Path:
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
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
