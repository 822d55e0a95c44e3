"""Blocked search gives the same answers as the full similarity matrix."""

from __future__ import annotations

import numpy as np
import pytest

from seedforge.vectors import search


def unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "QUERY_BLOCK", 7)
    monkeypatch.setattr(search, "KEY_BLOCK", 5)


def test_nearest_matches_brute_force() -> None:
    q, k = unit(23, 8, 0), unit(31, 8, 1)
    idx, score = search.nearest(q, k)
    full = q @ k.T
    assert idx.tolist() == full.argmax(1).tolist()
    np.testing.assert_allclose(score, full.max(1), rtol=1e-5)
    self_idx, _ = search.nearest(k, k, skip_self=True)
    masked = k @ k.T
    np.fill_diagonal(masked, -np.inf)
    assert self_idx.tolist() == masked.argmax(1).tolist()


def test_earlier_pairs_matches_brute_force() -> None:
    v = unit(40, 3, 2)  # low dimension: many close pairs
    full = v @ v.T
    want = sorted(
        ((i, j) for j in range(40) for i in range(j) if full[i, j] >= 0.9), key=lambda p: (p[1], p[0])
    )
    assert [(i, j) for i, j, _ in search.earlier_pairs(v, 0.9)] == want
    dropped = search.first_kept(40, search.earlier_pairs(v, 0.9))
    kept = [j for j in range(40) if j not in dropped]
    assert all(full[a, b] < 0.9 for a in kept for b in kept if a < b)  # survivors are mutually apart
    for j, (i, s) in dropped.items():  # and every drop matched a survivor before it
        assert i < j and i in kept and s >= 0.9
