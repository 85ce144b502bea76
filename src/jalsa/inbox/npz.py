"""Model arrays written as an .npz numpy reads, the same bytes for the same arrays.

The shipped moderation model and the language identifier are written as plain arrays (never a
pickle: loading runs no code from the file), with fixed timestamps and sorted names, so a
rebuild from the same data gives byte-identical files and the same sha256 in their manifests.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` to `path` deterministically (no pickled objects allowed)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(
                buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())
