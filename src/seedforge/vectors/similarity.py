"""Nearest-neighbour similarity between two datasets, to choose gate thresholds from real data.

For each row of A, the cosine of its most similar row in B (A against itself skips the row
itself). Shown as a text histogram, optionally a PNG, with how many rows of A each candidate
threshold would flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seedforge.errors import SeedforgeError
from seedforge.io import atomic_path

DEFAULT_THRESHOLDS = (0.8, 0.85, 0.9, 0.95, 0.98)


def histogram(scores: np.ndarray, width: int = 40, bin_size: float = 0.05) -> str:
    """One line per bin from the lowest occupied bin to 1.0: range, count, bar.

    >>> print(histogram(np.array([0.91, 0.93, 0.97, 1.0]), width=4))
    [0.90, 0.95)      2 ####
    [0.95, 1.00]      2 ####
    """
    if len(scores) == 0:
        return "(no rows)"
    n_bins = round(1 / bin_size)
    index = np.clip(np.floor(np.clip(scores, -1, 1) / bin_size + 1e-9), -n_bins, n_bins - 1).astype(int)
    counts = np.bincount(index + n_bins, minlength=2 * n_bins)
    lo = int(np.nonzero(counts)[0][0])
    peak = counts.max()
    lines = []
    for b in range(lo, 2 * n_bins):
        left, right = (b - n_bins) * bin_size, (b - n_bins + 1) * bin_size
        close = "]" if b == 2 * n_bins - 1 else ")"
        bar = "#" * (round(width * counts[b] / peak) if counts[b] else 0)
        lines.append(f"[{left:.2f}, {right:.2f}{close} {counts[b]:6d} {bar}".rstrip())
    return "\n".join(lines)


def flagged(scores: np.ndarray, thresholds: Sequence[float]) -> list[tuple[float, int]]:
    """(threshold, rows at or above it) for each threshold.

    >>> flagged(np.array([0.5, 0.9, 0.95]), [0.9, 0.95])
    [(0.9, 2), (0.95, 1)]
    """
    return [(t, int((scores >= t).sum())) for t in thresholds]


def plot(scores: np.ndarray, thresholds: Sequence[float], path: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeedforgeError("--png needs matplotlib (pip install 'seedforge[embed]')") from None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(scores, bins=np.linspace(min(0.0, float(scores.min(initial=0))), 1, 41), color="#4878a8")
    for t, n in flagged(scores, thresholds):
        ax.axvline(t, color="#c44e52", linestyle="--", linewidth=1)
        ax.text(t, ax.get_ylim()[1] * 0.95, f" {t:g}: {n}", rotation=90, va="top", fontsize=8)
    ax.set_xlabel("cosine to nearest neighbour")
    ax.set_ylabel("rows")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
