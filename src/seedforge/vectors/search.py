"""Nearest-neighbour search over normalised embeddings, in blocks so memory stays bounded.

Cosine similarity of unit vectors is a dot product, so search is float32 matrix products of a
block of queries against a block of keys (torch: multi-threaded BLAS), keeping only each query's
best match, or the pairs at or above a threshold. Peak extra memory is one block x block matrix
(4096 x 16384 floats = 256 MiB), never n x n.
"""

from __future__ import annotations

import numpy as np
import torch

QUERY_BLOCK = 4096
KEY_BLOCK = 16384


def nearest(queries: np.ndarray, keys: np.ndarray, skip_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the index of its most similar key row and that cosine.

    With no keys, every index is -1 and every score -inf. Ties go to the lowest key index.
    `skip_self` (queries and keys are the same rows) leaves out each row's match with itself.

    >>> q = np.array([[1, 0], [0, 1]], dtype=np.float32)
    >>> k = np.array([[0, 1], [0.6, 0.8], [1, 0]], dtype=np.float32)
    >>> idx, score = nearest(q, k)
    >>> idx.tolist(), score.round(2).tolist()
    ([2, 0], [1.0, 1.0])
    >>> nearest(k, k, skip_self=True)[0].tolist()
    [1, 0, 1]
    """
    n = len(queries)
    best = np.full(n, -np.inf, dtype=np.float32)
    arg = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(keys) == 0:
        return arg, best
    kt = torch.from_numpy(np.ascontiguousarray(keys, dtype=np.float32))
    for qs in range(0, n, QUERY_BLOCK):
        q = torch.from_numpy(np.ascontiguousarray(queries[qs : qs + QUERY_BLOCK], dtype=np.float32))
        top = torch.full((len(q),), -torch.inf)
        top_i = torch.full((len(q),), -1, dtype=torch.int64)
        for ks in range(0, len(kt), KEY_BLOCK):
            sims = q @ kt[ks : ks + KEY_BLOCK].T
            if skip_self:
                rows = torch.arange(len(q))
                cols = rows + qs - ks
                inside = (cols >= 0) & (cols < sims.shape[1])
                sims[rows[inside], cols[inside]] = -torch.inf
            values, index = sims.max(dim=1)
            better = values > top  # strict: an earlier key wins a tie
            top = torch.where(better, values, top)
            top_i = torch.where(better, index + ks, top_i)
        best[qs : qs + len(q)] = top.numpy()
        arg[qs : qs + len(q)] = top_i.numpy()
    return arg, best


def earlier_pairs(vectors: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Every pair (i, j, cosine) with i < j and cosine >= threshold, sorted by (j, i).

    Only the blocks on or below the diagonal are computed.

    >>> v = np.array([[1, 0], [1, 0], [0, 1], [0.8, 0.6]], dtype=np.float32)
    >>> [(i, j, round(s, 2)) for i, j, s in earlier_pairs(v, 0.75)]
    [(0, 1, 1.0), (0, 3, 0.8), (1, 3, 0.8)]
    """
    v = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    pairs: list[tuple[int, int, float]] = []
    for qs in range(0, len(v), QUERY_BLOCK):
        q = v[qs : qs + QUERY_BLOCK]
        for ks in range(0, qs + len(q), KEY_BLOCK):
            sims = q @ v[ks : min(ks + KEY_BLOCK, qs + len(q))].T
            rows, cols = torch.nonzero(sims >= threshold, as_tuple=True)
            j, i = rows + qs, cols + ks
            mask = i < j
            for a, b, s in zip(
                i[mask].tolist(), j[mask].tolist(), sims[rows[mask], cols[mask]].tolist(), strict=True
            ):
                pairs.append((a, b, s))
    pairs.sort(key=lambda p: (p[1], p[0]))
    return pairs


def first_kept(n: int, pairs: list[tuple[int, int, float]]) -> dict[int, tuple[int, float]]:
    """Greedy dedup in order: j is dropped if it matches an earlier row that was kept.

    Returns {dropped j: (the kept row it matched best, cosine)}. A chain a~b~c where a and c are
    not alike keeps a and c: b goes, and then nothing kept matches c.

    >>> first_kept(3, [(0, 1, 0.96), (1, 2, 0.97)])
    {1: (0, 0.96)}
    """
    by_j: dict[int, list[tuple[int, float]]] = {}
    for i, j, s in pairs:
        by_j.setdefault(j, []).append((i, s))
    dropped: dict[int, tuple[int, float]] = {}
    for j in sorted(by_j):
        kept = [(i, s) for i, s in by_j[j] if i not in dropped]
        if kept:
            i, s = max(kept, key=lambda p: (p[1], -p[0]))
            dropped[j] = (i, s)
    return dropped


def top_k(queries: np.ndarray, keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, its k most similar key rows, best first: (indices, cosines), each
    (n, min(k, len(keys))). Ties go to the lower key index. Key blocks are merged as they come, so
    memory stays one block x block matrix.

    >>> q = np.array([[1, 0]], dtype=np.float32)
    >>> keys = np.array([[0, 1], [0.8, 0.6], [1, 0]], dtype=np.float32)
    >>> idx, score = top_k(q, keys, 2)
    >>> idx.tolist(), score.astype(float).round(2).tolist()
    ([[2, 1]], [[1.0, 0.8]])
    """
    n, k = len(queries), min(k, len(keys))
    if n == 0 or k == 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.float32)
    kt = torch.from_numpy(np.ascontiguousarray(keys, dtype=np.float32))
    out_i = np.zeros((n, k), dtype=np.int64)
    out_s = np.zeros((n, k), dtype=np.float32)
    for qs in range(0, n, QUERY_BLOCK):
        q = torch.from_numpy(np.ascontiguousarray(queries[qs : qs + QUERY_BLOCK], dtype=np.float32))
        best_s = torch.empty((len(q), 0))
        best_i = torch.empty((len(q), 0), dtype=torch.int64)
        for ks in range(0, len(kt), KEY_BLOCK):
            sims = q @ kt[ks : ks + KEY_BLOCK].T
            index = torch.arange(ks, ks + sims.shape[1]).expand(len(q), -1)
            s = torch.cat([best_s, sims], dim=1)
            i = torch.cat([best_i, index], dim=1)
            # sort by (-score, index) so a tie keeps the lower key index
            order = torch.from_numpy(np.lexsort((i.numpy(), -s.numpy()), axis=1)[:, :k].copy())
            best_s, best_i = torch.gather(s, 1, order), torch.gather(i, 1, order)
        out_i[qs : qs + len(q)] = best_i.numpy()
        out_s[qs : qs + len(q)] = best_s.numpy()
    return out_i, out_s
