"""Placement of populations in space and wiring of pathways (science.md section 4).

Pure NumPy, seeded by the generator it is given; no simulation state. Every rule returns
the synapses of one pathway grouped by presynaptic neuron (CSR: ``indptr`` over local
presynaptic indices, ``post`` local postsynaptic indices, ``weight``, ``delay`` in steps).
Rows are drawn in blocks so that memory stays bounded for large populations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError

#: Upper bound of dense (pre x post) elements evaluated at once.
BLOCK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Placement:
    """Positions of one population.

    ``angle`` (rad) on a ring of ``radius``, or ``xy`` on a periodic sheet of side ``size``.
    """

    geometry: str
    angle: np.ndarray | None = None
    xy: np.ndarray | None = None
    radius: float = 1.0
    size: float = 1.0
    distance: str = "arc"

    @property
    def n(self) -> int:
        return len(self.angle) if self.angle is not None else len(self.xy)


def place(n: int, space, rng: np.random.Generator | None = None) -> Placement:
    """Place ``n`` neurons according to a :class:`l5sim.spec.Space`.

    Ring: angle 2 pi i / n (``angles = "even"``) or ``linspace(0, 2 pi, n)`` (``"closed"``,
    LVPA's duplicated end point). Sheet: uniform random positions from ``rng``.
    """
    if space.geometry == "ring":
        if space.angles == "even":
            ang = 2.0 * np.pi * np.arange(n) / n
        else:
            ang = np.linspace(0.0, 2.0 * np.pi, n)
        return Placement("ring", angle=ang, radius=space.radius, distance=space.distance)
    if rng is None:
        raise ValueError("a sheet placement needs a random generator")
    xy = rng.random((n, 2)) * space.size
    return Placement("sheet", xy=xy, size=space.size)


def distances(pre: Placement, post: Placement, rows: slice) -> np.ndarray:
    """Distance matrix block (rows = presynaptic neurons ``rows``, columns = all post)."""
    if pre.geometry == "ring":
        dth = np.abs(pre.angle[rows, None] - post.angle[None, :]) % (2 * np.pi)
        dth = np.minimum(dth, 2 * np.pi - dth)
        if pre.distance == "chord":
            return 2.0 * pre.radius * np.sin(dth / 2.0)
        return pre.radius * dth
    d = np.abs(pre.xy[rows, None, :] - post.xy[None, :, :])
    d = np.minimum(d, pre.size - d)
    return np.sqrt((d ** 2).sum(-1))


@dataclass
class Synapses:
    """One pathway's synapses in CSR over local presynaptic indices."""

    indptr: np.ndarray   # int64, n_pre + 1
    post: np.ndarray     # int32, local post index
    weight: np.ndarray   # float32
    delay: np.ndarray    # uint16, steps

    @property
    def n(self) -> int:
        return int(self.post.shape[0])


def connect(conn, n_pre: int, n_post: int, pre_pl: Placement, post_pl: Placement,
            same_population: bool, delay_steps: int, delay_per_distance: float,
            rng: np.random.Generator, path: str = "pathway") -> Synapses:
    """Draw the synapses of one pathway.

    Parameters
    ----------
    conn : :class:`l5sim.spec.ConnectivitySpec`.
    n_pre, n_post : population sizes.
    pre_pl, post_pl : placements.
    same_population : pre and post are the same population (autapses apply).
    delay_steps, delay_per_distance : delay = delay_steps + round(d * delay_per_distance).
    rng : the pathway's own generator.
    """
    rule = conn.rule
    if rule == "fixed_outdegree":
        k = conn.outdegree
        pre_i = np.repeat(np.arange(n_pre), k)
        post_j = np.empty(n_pre * k, np.int64)
        for i in range(n_pre):
            if same_population and not conn.autapses:
                cand = rng.choice(n_post - 1, size=k, replace=False)
                cand[cand >= i] += 1          # skip i itself
            else:
                cand = rng.choice(n_post, size=k, replace=False)
            post_j[i * k:(i + 1) * k] = np.sort(cand)
        w = _weights(conn, pre_i.shape[0], rng)
        dist = _pair_distance(pre_pl, post_pl, pre_i, post_j) if delay_per_distance else None
        return _to_csr(n_pre, pre_i, post_j, w, _delays(delay_steps, delay_per_distance, dist, pre_i.shape[0], path),
                       path)
    if rule == "one_to_one":
        idx = np.arange(n_pre)
        keep = np.ones(n_pre, bool) if (conn.autapses or not same_population) else np.zeros(n_pre, bool)
        pre_i, post_j = idx[keep], idx[keep]
        w = _weights(conn, pre_i.shape[0], rng)
        dist = _pair_distance(pre_pl, post_pl, pre_i, post_j) if delay_per_distance else None
        return _to_csr(n_pre, pre_i, post_j, w, _delays(delay_steps, delay_per_distance, dist, path=path), path)
    if rule == "pocket":
        k = conn.pocket_size
        if n_pre <= n_post:
            pre_i = np.repeat(np.arange(n_pre), k)
            post_j = (np.arange(n_pre)[:, None] * k + np.arange(k)[None, :]).ravel()
        else:
            post_j = np.repeat(np.arange(n_post), k)
            pre_i = (np.arange(n_post)[:, None] * k + np.arange(k)[None, :]).ravel()
            order = np.argsort(pre_i, kind="stable")
            pre_i, post_j = pre_i[order], post_j[order]
        if same_population and not conn.autapses:
            keep = pre_i != post_j
            pre_i, post_j = pre_i[keep], post_j[keep]
        w = _weights(conn, pre_i.shape[0], rng)
        dist = _pair_distance(pre_pl, post_pl, pre_i, post_j) if delay_per_distance else None
        return _to_csr(n_pre, pre_i, post_j, w, _delays(delay_steps, delay_per_distance, dist, path=path), path)

    if rule in ("fixed_prob", "gaussian_prob"):
        return _connect_sparse(conn, n_pre, n_post, pre_pl, post_pl, same_population, delay_steps,
                               delay_per_distance, rng, path)
    pres, posts, ws, ds = [], [], [], []
    rows_per_block = max(1, BLOCK_ELEMENTS // max(n_post, 1))
    need_dist = rule in ("gaussian_weight", "gaussian_prob") or delay_per_distance > 0
    for r0 in range(0, n_pre, rows_per_block):
        r1 = min(n_pre, r0 + rows_per_block)
        rows = slice(r0, r1)
        d = distances(pre_pl, post_pl, rows) if need_dist else None
        if rule == "gaussian_weight":
            # (d / sigma)^2, not d^2 / sigma^2: sigma^2 underflows to 0 for tiny sigma (0 / 0 at d = 0)
            with np.errstate(over="ignore"):
                w = conn.A * np.exp(-0.5 * (d / conn.sigma) ** 2) / (conn.sigma * np.sqrt(2 * np.pi))
            mask = np.ones((r1 - r0, n_post), bool)
        elif rule == "gaussian_prob":
            with np.errstate(over="ignore"):
                prob = conn.p0 * np.exp(-0.5 * (d / conn.sigma) ** 2)
            mask = rng.random((r1 - r0, n_post)) < prob
            w = None
        elif rule == "fixed_prob":
            mask = rng.random((r1 - r0, n_post)) < conn.p
            w = None
        elif rule == "all_to_all":
            mask = np.ones((r1 - r0, n_post), bool)
            w = None
        else:  # pragma: no cover - validated in spec
            raise SpecError(f"{path}.connectivity.rule", rule, "a known rule")
        if same_population and not conn.autapses:
            ii = np.arange(r0, r1)
            ok = ii < n_post
            mask[ii[ok] - r0, ii[ok]] = False
        pi, pj = np.nonzero(mask)
        # kernel weights now; drawn weights after the last block (below)
        wv = w[pi, pj] if w is not None else np.zeros(0)
        dv = _delays(delay_steps, delay_per_distance, d[pi, pj] if (d is not None and delay_per_distance) else None,
                     pi.shape[0], path)
        pres.append(pi + r0)
        posts.append(pj)
        ws.append(wv)
        ds.append(dv)
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    pre_all = cat(pres, np.int64)
    if rule == "gaussian_weight":
        w_all = cat(ws, np.float64)
    else:
        # uniform random weights when a range is set (Izhikevich 2003: S = 0.5 rand
        # excitatory, -rand inhibitory), else the fixed weight. Drawn once, after every
        # mask block, so that the circuit does not depend on BLOCK_ELEMENTS.
        w_all = _weights(conn, pre_all.shape[0], rng)
    return _to_csr(n_pre, pre_all, cat(posts, np.int64), w_all, cat(ds, np.int64), path)


def _bernoulli_positions(rng, n_avail, q):
    """Successes of independent Bernoulli(q) trials at positions 0 .. n_avail[r] - 1 of each
    row r, in increasing order: (row index, position) arrays.

    Exact and O(successes): the gaps between successes are geometric with parameter q, drawn
    for blocks of rows at once (enough gaps for the expected count plus six standard
    deviations; the rare row that needs more is extended one at a time).
    """
    n_rows = n_avail.shape[0]
    if q <= 0.0 or n_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if q >= 1.0:
        rows = np.repeat(np.arange(n_rows), n_avail)
        pos = np.concatenate([np.arange(k) for k in n_avail]) if n_rows else np.zeros(0, np.int64)
        return rows, pos.astype(np.int64)
    n_max = int(n_avail.max())
    mean = n_max * q
    m = int(mean + 6.0 * np.sqrt(mean * (1.0 - q)) + 10)
    rows_per_block = max(1, BLOCK_ELEMENTS // m)
    out_r, out_p = [], []
    extended = False
    for r0 in range(0, n_rows, rows_per_block):
        r1 = min(n_rows, r0 + rows_per_block)
        pos = np.cumsum(rng.geometric(q, size=(r1 - r0, m)), axis=1) - 1
        lim = n_avail[r0:r1, None]
        short = np.nonzero(pos[:, -1] < lim[:, 0] - 1)[0]
        mask = pos < lim
        out_r.append(np.repeat(np.arange(r0, r1, dtype=np.int64), mask.sum(axis=1)))
        out_p.append(pos[mask])              # boolean indexing keeps row-major order
        for k in short:                      # more successes than the margin allowed
            last = int(pos[k, -1])
            extra = []
            while True:
                last += int(rng.geometric(q))
                if last >= lim[k, 0]:
                    break
                extra.append(last)
            if extra:
                out_r.append(np.full(len(extra), r0 + k, np.int64))
                out_p.append(np.asarray(extra, np.int64))
                extended = True
    rows = np.concatenate(out_r).astype(np.int64, copy=False)
    pos = np.concatenate(out_p).astype(np.int64, copy=False)
    if extended:           # blocks came in row-major order; extensions were appended
        order = np.lexsort((pos, rows))
        rows, pos = rows[order], pos[order]
    return rows, pos


def _connect_sparse(conn, n_pre, n_post, pre_pl, post_pl, same_population, delay_steps, delay_per_distance,
                    rng, path):
    """``fixed_prob`` and ``gaussian_prob`` in O(expected candidates), not O(n_pre n_post).

    Each pair is an independent Bernoulli draw with probability p (fixed) or
    p0 exp(-d^2 / 2 sigma^2) (Gaussian). Drawn exactly: the candidates of each presynaptic
    neuron are Bernoulli(q) successes (q = p or p0) found by geometric gaps
    (:func:`_bernoulli_positions`), and each Gaussian candidate is then kept with
    probability exp(-d^2 / 2 sigma^2) (thinning).
    """
    skip_self = same_population and not conn.autapses
    q = conn.p if conn.rule == "fixed_prob" else conn.p0
    avail = np.full(n_pre, n_post, np.int64)
    if skip_self:
        avail -= (np.arange(n_pre) < n_post).astype(np.int64)
    pre_i, post_j = _bernoulli_positions(rng, avail, q)
    if skip_self:
        post_j = post_j + (post_j >= pre_i)   # positions skip the neuron itself
    need_d = conn.rule == "gaussian_prob" or delay_per_distance > 0
    d = _pair_distance(pre_pl, post_pl, pre_i, post_j) if need_d and pre_i.size else np.zeros(pre_i.size)
    if conn.rule == "gaussian_prob" and pre_i.size:
        with np.errstate(over="ignore", under="ignore"):
            keep = rng.random(pre_i.size) < np.exp(-0.5 * (d / conn.sigma) ** 2)
        pre_i, post_j, d = pre_i[keep], post_j[keep], d[keep]
    w = _weights(conn, pre_i.shape[0], rng)
    dv = _delays(delay_steps, delay_per_distance, d if delay_per_distance else None, pre_i.shape[0], path)
    return _to_csr(n_pre, pre_i, post_j, w, dv, path)


def _weights(conn, n, rng):
    """Weights of n synapses: uniform in [weight_low, weight_high) if that range is set."""
    if conn.weight_high > conn.weight_low:
        return conn.weight_low + (conn.weight_high - conn.weight_low) * rng.random(n)
    return np.full(n, conn.weight)


def _pair_distance(pre_pl, post_pl, pre_i, post_j):
    if pre_pl.geometry == "ring":
        dth = np.abs(pre_pl.angle[pre_i] - post_pl.angle[post_j]) % (2 * np.pi)
        dth = np.minimum(dth, 2 * np.pi - dth)
        return 2.0 * pre_pl.radius * np.sin(dth / 2) if pre_pl.distance == "chord" else pre_pl.radius * dth
    d = np.abs(pre_pl.xy[pre_i] - post_pl.xy[post_j])
    d = np.minimum(d, pre_pl.size - d)
    return np.sqrt((d ** 2).sum(-1))


#: Delays are stored as uint16 steps.
MAX_DELAY = int(np.iinfo(np.uint16).max)


def _delays(delay_steps, per_distance, dist, n=None, path="pathway"):
    if dist is None:
        return np.full(n if n is not None else 0, delay_steps, dtype=np.int64) if n is not None else delay_steps
    with np.errstate(over="ignore"):
        steps = delay_steps + np.rint(dist * per_distance)   # float: check before the integer cast
    if steps.size and not steps.max() <= MAX_DELAY:
        raise SpecError(f"{path}.delay_per_distance", per_distance,
                        f"delays of at most {MAX_DELAY} steps (the largest distance gives {steps.max():g})")
    return steps.astype(np.int64)


def _to_csr(n_pre, pre_i, post_j, w, delay, path="pathway"):
    pre_i = np.asarray(pre_i, np.int64)
    if np.ndim(delay) == 0:
        delay = np.full(pre_i.shape, int(delay), np.int64)
    if pre_i.size and np.any(np.diff(pre_i) < 0):
        order = np.argsort(pre_i, kind="stable")
        pre_i, post_j, w, delay = pre_i[order], np.asarray(post_j)[order], np.asarray(w)[order], delay[order]
    counts = np.bincount(pre_i, minlength=n_pre)
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    if delay.size and delay.max() > MAX_DELAY:
        raise SpecError(f"{path}.delay_steps", int(delay.max()), f"delays of at most {MAX_DELAY} steps")
    with np.errstate(over="ignore"):
        w32 = np.asarray(w, np.float32)
    if not np.all(np.isfinite(w32)):
        bad = np.asarray(w, np.float64)[~np.isfinite(w32)][0]
        raise SpecError(f"{path}.connectivity", float(bad), "weights that are finite in float32 (|w| < 3.4e38)")
    return Synapses(indptr, np.asarray(post_j, np.int32), w32, delay.astype(np.uint16))
