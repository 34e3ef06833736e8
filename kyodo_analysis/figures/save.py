"""Saving a figure reproducibly (fixed metadata, fixed resolution)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from ..config import FIGURE_FORMATS
from .style import SAVE_DPI, style


# --- export ------------------------------------------------------------------------

# Dropping the dates (and the PNG software tag) makes repeated runs byte-identical.
_METADATA = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None},
    "svg": {"Date": None},
}


def save_figure(
    fig: Figure,
    path: str | os.PathLike[str],
    *,
    formats: Sequence[str] = FIGURE_FORMATS,
    dpi: int = SAVE_DPI,
) -> list[Path]:
    """Write ``fig`` as ``path`` + each suffix in ``formats``, reproducibly; return the paths."""
    stem = Path(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with style():
        for fmt in formats:
            target = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(target, format=fmt, dpi=dpi, metadata=_METADATA.get(fmt), facecolor="white")
            written.append(target)
    return written

