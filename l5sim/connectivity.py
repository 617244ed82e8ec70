"""Placement of populations in space and wiring of pathways (science.md section 4).

NumPy, plus compiled draws for sparse pathways and drawn weights
(:mod:`l5sim.kernels.wiring`); seeded by the generator it is given; no simulation state. Every rule returns
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
        k = conn.pocket(n_pre, n_post)
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
                prob = conn.probability(n_pre) * np.exp(-0.5 * (d / conn.sigma) ** 2)
            mask = rng.random((r1 - r0, n_post)) < prob
            w = None
        elif rule == "fixed_prob":
            mask = rng.random((r1 - r0, n_post)) < conn.probability(n_pre)
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


def _stream(rng):
    """A (2, 1) xoroshiro128+ state (one stream, :mod:`l5sim.kernels.rng`'s layout) for the
    compiled draws, taken from the pathway's generator."""
    st = rng.integers(0, np.iinfo(np.uint64).max, size=(2, 1), dtype=np.uint64, endpoint=True)
    if not st.any():        # the one state xoroshiro cannot leave
        st[1, 0] = 1
    return st


def _bernoulli_rows(rng, n_avail, q, skip_self_rows=0):
    """Independent Bernoulli(q) trials at positions 0 .. n_avail[r] - 1 of every row r, as CSR
    (``indptr`` int64, successful positions int32, increasing within a row).

    Exact and O(successes): a row's number of successes is Binomial(n_avail[r], q); given
    it, the successes are a uniformly random subset of that size (the trials are
    exchangeable), drawn by :func:`l5sim.kernels.wiring.bernoulli_rows`. In rows
    r < ``skip_self_rows`` position p stands for p + (p >= r) (no autapse).
    """
    from .kernels import wiring

    n_avail = np.asarray(n_avail, np.int64)
    if q >= 1.0:
        counts = n_avail.copy()
    elif q <= 0.0:
        counts = np.zeros_like(n_avail)
    else:
        counts = rng.binomial(n_avail, q).astype(np.int64, copy=False)
    indptr = np.zeros(n_avail.shape[0] + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    post = np.empty(int(indptr[-1]), np.int32)
    if post.size:
        wiring.bernoulli_rows(_stream(rng), counts, n_avail, int(skip_self_rows), indptr, post)
    return indptr, post


def _connect_sparse(conn, n_pre, n_post, pre_pl, post_pl, same_population, delay_steps, delay_per_distance,
                    rng, path):
    """``fixed_prob`` and ``gaussian_prob`` in O(expected candidates), not O(n_pre n_post).

    Each pair is an independent Bernoulli draw with probability p (fixed) or
    p0 exp(-d^2 / 2 sigma^2) (Gaussian). Drawn exactly: the candidates of each presynaptic
    neuron are Bernoulli(q) successes (q = p or p0, :func:`_bernoulli_rows`), and each
    Gaussian candidate is then kept with probability exp(-d^2 / 2 sigma^2) (thinning).
    With ``n_ref`` set, q is scaled by n_ref / n_pre (:meth:`l5sim.spec.ConnectivitySpec.probability`).
    """
    if n_post >= 2 ** 31:
        raise SpecError(f"{path}.post.n", n_post, "fewer than 2**31 neurons (indices are int32)")
    skip_self = same_population and not conn.autapses
    q = conn.probability(n_pre)     # p or p0, times n_ref / n_pre when scaled (fixed in-degree)
    avail = np.full(n_pre, n_post, np.int64)
    k_self = min(n_pre, n_post) if skip_self else 0
    avail[:k_self] -= 1
    indptr, post = _bernoulli_rows(rng, avail, q, k_self)
    need_d = (conn.rule == "gaussian_prob" or delay_per_distance > 0) and post.size > 0
    dv = delay_steps
    if need_d:
        indptr, post, dv = _thin_and_delay(conn, indptr, post, pre_pl, post_pl, delay_steps, delay_per_distance,
                                           rng, path)
    w = _weights(conn, post.shape[0], rng)
    return _csr(indptr, post, w, dv, path)


#: Candidates whose distances :func:`_thin_and_delay` evaluates at once (its temporaries, ~45
#: bytes a candidate, ~12 MB, stay this size whatever the pathway's).
THIN_CHUNK = 1 << 18


def _thin_and_delay(conn, indptr, post, pre_pl, post_pl, delay_steps, delay_per_distance, rng, path):
    """The candidates (CSR ``indptr``, ``post``) of :func:`_connect_sparse` thinned by the
    Gaussian of their distance (``gaussian_prob``) and given their distance-dependent delays
    (uint16 steps; ``delay_steps`` itself without ``delay_per_distance``): ``(indptr, post,
    delays)``. In blocks of whole rows of about :data:`THIN_CHUNK` candidates, so that the
    distances, draws and masks never exist for a whole pathway at once (they made the 100k
    column's build peak ~300 MB above its resident memory); the thinning draws are one
    ``rng.random`` call per block, together the same stream as one call for all candidates,
    so the circuit does not depend on the block size."""
    n_pre = indptr.shape[0] - 1
    bounds = np.unique(np.searchsorted(indptr, np.arange(0, int(indptr[-1]), THIN_CHUNK), side="right") - 1)
    bounds = np.concatenate([bounds, [n_pre]])
    counts = np.diff(indptr)
    posts, delays, worst = [], [], 0.0
    for r0, r1 in zip(bounds[:-1], bounds[1:]):
        c0, c1 = indptr[r0], indptr[r1]
        pre_i = np.repeat(np.arange(r0, r1), counts[r0:r1])
        blk = post[c0:c1]
        d = _pair_distance(pre_pl, post_pl, pre_i, blk)
        if conn.rule == "gaussian_prob":
            with np.errstate(over="ignore", under="ignore"):
                keep = rng.random(blk.size) < np.exp(-0.5 * (d / conn.sigma) ** 2)
            blk, d, pre_i = blk[keep], d[keep], pre_i[keep]
            counts[r0:r1] = np.bincount(pre_i - r0, minlength=r1 - r0)
        posts.append(blk)
        if delay_per_distance:
            with np.errstate(over="ignore"):
                steps = delay_steps + np.rint(d * delay_per_distance)   # float: checked before the cast
            if steps.size:
                worst = max(worst, float(steps.max()))
            if worst <= MAX_DELAY:
                delays.append(steps.astype(np.uint16))
    if not worst <= MAX_DELAY:
        raise SpecError(f"{path}.delay_per_distance", delay_per_distance,
                        f"delays of at most {MAX_DELAY} steps (the largest distance gives {worst:g})")
    out_ptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(counts, out=out_ptr[1:])
    post = np.concatenate(posts) if len(posts) != 1 else posts[0]
    if not delay_per_distance:
        return out_ptr, post, delay_steps
    return out_ptr, post, np.concatenate(delays) if len(delays) != 1 else delays[0]


def _weights(conn, n, rng):
    """Weights of n synapses (float32): uniform in [weight_low, weight_high) if that range is
    set (drawn in float64 and rounded once), else the fixed weight."""
    # float64 when a bound does not fit float32, so that _csr's error names the value
    fits = bool(np.all(np.abs([conn.weight_low, conn.weight_high, conn.weight]) <= np.finfo(np.float32).max))
    dtype = np.float32 if fits else np.float64
    if conn.weight_high > conn.weight_low:
        from .kernels import wiring

        w = np.empty(n, dtype)
        if n:
            wiring.uniform_fill(_stream(rng), float(conn.weight_low), float(conn.weight_high), w)
        return w
    return np.full(n, conn.weight, dtype)


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
    """CSR from (pre, post, weight, delay) lists in any order of pre (stable within a pre)."""
    pre_i = np.asarray(pre_i, np.int64)
    if pre_i.size and np.any(np.diff(pre_i) < 0):
        order = np.argsort(pre_i, kind="stable")
        pre_i, post_j, w = pre_i[order], np.asarray(post_j)[order], np.asarray(w)[order]
        if np.ndim(delay):
            delay = np.asarray(delay)[order]
    counts = np.bincount(pre_i, minlength=n_pre)
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    return _csr(indptr, post_j, w, delay, path)


def _csr(indptr, post, w, delay, path="pathway"):
    """:class:`Synapses` from CSR arrays, checking that delays fit uint16 and weights float32.

    ``delay`` is one number of steps for every synapse or one per synapse."""
    n = int(indptr[-1])
    if np.ndim(delay) == 0:
        if int(delay) > MAX_DELAY:
            raise SpecError(f"{path}.delay_steps", int(delay), f"delays of at most {MAX_DELAY} steps")
        delay = np.full(n, int(delay), np.uint16)
    else:
        delay = np.asarray(delay)
        if delay.size and delay.max() > MAX_DELAY:
            raise SpecError(f"{path}.delay_steps", int(delay.max()), f"delays of at most {MAX_DELAY} steps")
    w = np.asarray(w)
    with np.errstate(over="ignore"):
        w32 = w.astype(np.float32, copy=False)
    if not np.all(np.isfinite(w32)):
        bad = w[~np.isfinite(w32)][0]
        raise SpecError(f"{path}.connectivity", float(bad), "weights that are finite in float32 (|w| < 3.4e38)")
    return Synapses(indptr, np.asarray(post, np.int32), w32, delay.astype(np.uint16, copy=False))
