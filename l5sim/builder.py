"""Build: a validated :class:`~l5sim.spec.CircuitSpec` plus a seed -> flat arrays.

The result, :class:`BuiltCircuit`, holds the structure of arrays the kernels read
(per-neuron parameters, the per-population parameter table, CSR synapses with int32
targets, float32 weights and uint16 delays, input descriptions) and a fresh initial state.
Randomness comes from one seed through independent streams
(``numpy.random.SeedSequence``): wiring (one stream per pathway name), placement, initial
state and dynamics (one stream per neuron and per shared input). Changing the run length
or what is recorded never changes the circuit.
"""
from __future__ import annotations

import math
import os
import zlib
from dataclasses import dataclass, field

import numpy as np

from . import connectivity as _conn
from . import neuromodulation as _nm
from . import plasticity as _pl
from . import wiring_cache as _wc
from .errors import SpecError
from .kernels import engine as E
from .kernels.rng import ZIG_F, ZIG_K, ZIG_W, seed_streams
from .models import izhikevich as _izh
from .models.synapses import COMPARTMENTS, RECEPTOR_NAMES, channel
from .sizing import check_build

#: Registered integration schemes: name -> kernel code.
INTEGRATORS = {"euler": E.I_EULER, "semi_implicit": E.I_SEMI, "izh2003": E.I_IZH03, "none": E.I_EULER}
KINDS = {"l5_pyramidal": E.K_L5, "izhikevich2007": E.K_IZH07, "izhikevich2003": E.K_IZH03,
         "poisson": E.K_POISSON, "generator": E.K_GEN}
#: Neuromodulation targets of a population -> column of the parameter table.
MOD_COLUMNS = {"kappa": E.P_KAPPA_OFF, "dend_drive_pA": E.P_ID_OFF, "soma_drive_pA": E.P_IS_OFF,
               "gCa_pA": E.P_GCA, "c_mV": E.P_C_OFF, "d_pA": E.P_D_OFF}
#: Longest synaptic delay in steps (the delay ring has max_delay + 1 slots per channel).
MAX_DELAY_STEPS = 10_000
STREAMS = {"wiring": 0, "placement": 1, "init": 2, "dynamics": 3, "trials": 4}


def stream(seed: int, name: str, *sub: int) -> np.random.SeedSequence:
    """The named independent stream of a seed (``name`` in :data:`STREAMS`)."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(STREAMS[name], *sub))


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode())


@dataclass
class PathwayInfo:
    """Where a pathway's synapses sit in the flat arrays."""

    name: str
    pre: str
    post: str
    syn_lo: int
    syn_hi: int
    row0: int
    n_syn: int


@dataclass
class BuiltCircuit:
    """A circuit ready to simulate. Create it with :func:`build`.

    Attributes
    ----------
    spec : the circuit spec it came from.
    seed : the seed that fixed every random draw.
    net : :class:`l5sim.kernels.engine.Net` arrays (read-only for the kernels).
    pop_names : population names in index order.
    pop_slices : name -> slice of the global neuron index.
    pathways : name -> :class:`PathwayInfo`.
    placements : name -> :class:`l5sim.connectivity.Placement`.
    layouts : synapse layouts that kernels derive from ``net`` on first use and keep for
        later runs (as NEST prepares its connection infrastructure once); not part of the
        circuit, never saved.
    """

    spec: object
    seed: int
    net: E.Net
    pop_names: list
    pop_slices: dict
    pathways: dict
    placements: dict
    init_v: np.ndarray
    init_u: np.ndarray
    init_vd: np.ndarray
    init_wd: np.ndarray
    init_kap: np.ndarray
    max_delay: int
    inputs: list = field(default_factory=list)
    plasticity: object = None
    modulation: object = None
    layouts: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_neurons(self) -> int:
        return int(self.net.pop_start[-1])

    @property
    def n_synapses(self) -> int:
        return int(self.net.post.shape[0])

    @property
    def dt_ms(self) -> float:
        return float(self.net.dt)

    def synapse_bytes(self) -> int:
        """Bytes of synapse storage (targets, weights, delays and row pointers), with the
        layouts a kernel derived from them (:attr:`layouts`) once it has run."""
        n = self.net
        own = (n.post, n.w, n.dly, n.row_ptr)
        derived = {id(a): a for v in self.layouts.values() for a in v
                   if isinstance(a, np.ndarray) and not any(a is b for b in own)}
        return int(sum(a.nbytes for a in own) + sum(a.nbytes for a in derived.values()))

    def population_of(self, i: int) -> tuple[str, int]:
        """(population name, local index) of global neuron ``i``."""
        p = int(np.searchsorted(self.net.pop_start, i, side="right") - 1)
        return self.pop_names[p], int(i - self.net.pop_start[p])

    def weights(self, pathway: str) -> np.ndarray:
        """A copy of the current float32 weights of a pathway (in CSR order)."""
        info = self.pathways[pathway]
        return self.net.w[info.syn_lo:info.syn_hi].copy()

    def connections(self, pathway: str):
        """(pre_local, post_local, weight, delay_steps) arrays of a pathway."""
        info = self.pathways[pathway]
        n = self.net
        pre_n = self.pop_slices[info.pre].stop - self.pop_slices[info.pre].start
        rp = n.row_ptr[info.row0:info.row0 + pre_n + 1]
        pre = np.repeat(np.arange(pre_n), np.diff(rp))
        post = n.post[info.syn_lo:info.syn_hi] - self.pop_slices[info.post].start
        return pre, post, n.w[info.syn_lo:info.syn_hi].copy(), n.dly[info.syn_lo:info.syn_hi].copy()


def _pop_params(pop, dt):
    """Row of the population parameter table and per-neuron (a, b, c, d) defaults."""
    row = np.zeros(E.NPP)
    row[E.P_LAG] = 1.0 if pop.spike_detection == "next_step" else 0.0
    row[E.P_INTEG] = INTEGRATORS[pop.integration]
    row[E.P_NMDA_CAP] = math.inf
    if pop.model in ("poisson", "generator"):
        row[E.P_RATE] = pop.rate_hz
        return row, (0.0, 0.0, 0.0, 0.0)
    p = pop.cell_params()
    if pop.model == "izhikevich2003":
        row[E.P_VPEAK] = p.vpeak_mV
        return row, (p.a, p.b, p.c, p.d)
    row[E.P_C], row[E.P_K], row[E.P_VR], row[E.P_VT], row[E.P_VPEAK] = p.C_pF, p.k, p.vr_mV, p.vt_mV, p.vpeak_mV
    if pop.model == "izhikevich2007":
        row[E.P_VPEAK_U], row[E.P_C_U], row[E.P_UMAX] = p.vpeak_u, p.c_u, p.u_max_pA
        # no burst reset in the 2007 form: the two burst columns carry the reset ceiling
        # (cut-off minus reset_margin_mV at u = 0, its slope in u) that the kernel's
        # _reset_values clamps the u-dependent reset to (models.izhikevich, reset guard)
        row[E.P_C_BURST], row[E.P_D_BURST] = p.vpeak_mV - p.reset_margin_mV, p.vpeak_u
        row[E.P_UMODE], row[E.P_VB] = _izh.U_MODES[p.u_mode], p.vb_mV
        row[E.P_NMDA_CAP] = p.nmda_cap_nS
        return row, (p.a_per_ms, p.b_nS, p.c_mV, p.d_pA)
    # two-compartment L5 pyramidal
    start = int(round(p.bap_start_ms / dt))
    stop = int(round(p.bap_stop_ms / dt))
    if not 0 <= start <= stop <= 62:
        raise SpecError("params.bap_stop_ms", p.bap_stop_ms,
                        f"a bAP window of at most 62 steps after the spike (dt_ms = {dt})")
    row[E.P_NMDA_CAP] = p.nmda_cap_nS
    row[E.P_C_BURST], row[E.P_D_BURST] = p.c_burst_mV, p.d_burst_pA
    row[E.P_DG_AD], row[E.P_DECAY_AD], row[E.P_E_AD] = p.dg_adapt_nS, math.exp(-dt / p.tau_adapt_ms), p.E_adapt_mV
    row[E.P_CD], row[E.P_EL], row[E.P_GL], row[E.P_GCA] = p.Cd_pF, p.EL_mV, p.gL_nS, p.gCa_pA
    row[E.P_EHALF], row[E.P_DD], row[E.P_TAUW], row[E.P_BD] = p.Ehalf_mV, p.D_mV, p.tau_w_ms, p.bd_nS
    row[E.P_PLATEAU], row[E.P_BAP], row[E.P_BAP_START], row[E.P_BAP_STOP] = p.plateau_mV, p.bap_pA, start, stop
    row[E.P_KAPPA], row[E.P_KAPPA_STATE] = p.kappa, 1.0 if p.kappa_mode == "state" else 0.0
    row[E.P_KAPPA_REST], row[E.P_DECAY_KAPPA] = p.kappa_rest, math.exp(-dt / p.tau_kappa_ms)
    row[E.P_GATE] = {"per_step": E.G_PER_STEP, "deterministic": E.G_DETERMINISTIC, "per_spike": E.G_PER_SPIKE}[p.gate]
    row[E.P_GS], row[E.P_G] = p.gs_pA, p.G_nS
    return row, (p.a_per_ms, p.b_nS, p.c_reg_mV, p.d_reg_pA)


def noise_step_sd(inp, dt: float) -> float:
    """Per-step standard deviation (pA) of a ``noise`` input at step ``dt`` (ms): ``sigma_pA``
    as given, or ``sigma_pA_sqrt_ms / sqrt(dt)`` for white noise
    (:class:`l5sim.spec.InputSpec`)."""
    return inp.sigma_pA if inp.sigma_pA > 0 else inp.sigma_pA_sqrt_ms / math.sqrt(dt)


def _receptor_channels(receptors: dict, compartment: int):
    chans, scales = [], []
    for name, scale in receptors.items():
        chans.append(channel(RECEPTOR_NAMES.index(name), compartment))
        scales.append(scale)
    return chans, scales


def _profile(inp, n, placement):
    """Per-neuron scaling of an input (see :class:`l5sim.spec.InputSpec`)."""
    idx = np.arange(n, dtype=float)
    if inp.profile == "uniform":
        return np.ones(n)
    if inp.profile == "gaussian_index":
        return np.exp(-(((idx - inp.center) / inp.width) ** 2))
    if inp.profile == "neurons":
        prof = np.zeros(n)
        prof[list(inp.neurons)] = 1.0
        return prof
    c = int(round(inp.center)) % n
    d = _conn.distances(placement, placement, slice(c, c + 1))[0]
    return np.exp(-d ** 2 / (2 * inp.width ** 2))


def _draw_pathway(pname, pw, pre, post, placements, seed):
    """Draw one pathway's synapses from its own streams (wiring, then random delays)."""
    prng = np.random.default_rng(stream(seed, "wiring", _name_key(pname)))
    syn = _conn.connect(pw.connectivity, pre.n, post.n, placements[pw.pre], placements[pw.post],
                        pw.pre == pw.post, pw.delay_steps, pw.delay_per_distance, prng,
                        f"pathways.{pname}")
    if pw.delay_max_steps > pw.delay_steps and syn.n:
        # uniform random delays from the pathway's own stream (Izhikevich 2006: 1-20 ms)
        drng = np.random.default_rng(stream(seed, "wiring", _name_key(pname), 1))
        rand_delay = (syn.delay.astype(np.int64) - pw.delay_steps +
                      drng.integers(pw.delay_steps, pw.delay_max_steps + 1, syn.n))
        if rand_delay.max() > MAX_DELAY_STEPS:
            raise SpecError(f"pathways.{pname}.delay_max_steps", pw.delay_max_steps,
                            f"delays (with the distance part) of at most {MAX_DELAY_STEPS} steps")
        syn.delay = rand_delay.astype(np.uint16)
    return syn


def build(spec, seed: int = 0, wiring_cache=None) -> BuiltCircuit:
    """Turn a circuit spec into flat arrays, drawing every random quantity from ``seed``.

    Parameters
    ----------
    spec : :class:`l5sim.spec.CircuitSpec` (see :func:`l5sim.load_circuit`).
    seed : non-negative integer; the same seed gives the same circuit and, with
        :func:`l5sim.simulate`, the same spikes.
    wiring_cache : a directory where drawn synapses are kept and reused
        (:mod:`l5sim.wiring_cache`; the circuit is the same with or without it). Default:
        the environment variable ``L5SIM_WIRING_CACHE``, else no cache.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError("seed", seed, "a non-negative integer")
    seed = int(seed)
    check_build(spec)          # memory and time estimated before anything is drawn (l5sim.sizing)
    if wiring_cache is None:
        wiring_cache = os.environ.get("L5SIM_WIRING_CACHE") or None
    dt = spec.dt_ms
    names = list(spec.populations)
    sizes = [spec.populations[n].n for n in names]
    pop_start = np.zeros(len(names) + 1, np.int64)
    np.cumsum(sizes, out=pop_start[1:])
    N = int(pop_start[-1])
    slices = {n: slice(int(pop_start[i]), int(pop_start[i + 1])) for i, n in enumerate(names)}
    neuron_pop = np.repeat(np.arange(len(names), dtype=np.int32), sizes)

    pp = np.zeros((len(names), E.NPP))
    kinds = np.zeros(len(names), np.int32)
    a = np.zeros(N)
    b = np.zeros(N)
    c = np.zeros(N)
    d = np.zeros(N)
    init_v = np.zeros(N)
    init_u = np.zeros(N)
    init_vd = np.zeros(N)
    init_wd = np.zeros(N)
    init_kap = np.zeros(N)
    gen_t, gen_i = [], []
    init_rng = np.random.default_rng(stream(seed, "init"))
    het_rng = np.random.default_rng(stream(seed, "init", 1))
    for pi, name in enumerate(names):
        pop = spec.populations[name]
        sl = slices[name]
        row, (pa, pb, pc, pd) = _pop_params(pop, dt)
        pp[pi] = row
        kinds[pi] = KINDS[pop.model]
        a[sl], b[sl], c[sl], d[sl] = pa, pb, pc, pd
        if pop.heterogeneity != "none":
            r = het_rng.random(pop.n)
            if pop.heterogeneity == "izh2003_exc":   # Izhikevich 2003 listing
                c[sl] = -65.0 + 15.0 * r ** 2
                d[sl] = 8.0 - 6.0 * r ** 2
            else:
                a[sl] = 0.02 + 0.08 * r
                b[sl] = 0.25 - 0.05 * r
        if pop.model == "generator":
            for local, times in enumerate(pop.spike_times_ms):
                for tm in times:
                    gen_t.append(int(round(tm / dt)))
                    gen_i.append(sl.start + local)
            continue
        if pop.model == "poisson":
            continue
        cp = pop.cell_params()
        rest = -65.0 if pop.model == "izhikevich2003" else cp.vr_mV
        v0 = rest if pop.init.v_mV is None else pop.init.v_mV
        v = np.full(pop.n, v0)
        if pop.init.v_sd_mV > 0:
            v += pop.init.v_sd_mV * init_rng.standard_normal(pop.n)
        init_v[sl] = v
        if pop.model == "izhikevich2003":
            init_u[sl] = b[sl] * v        # Izhikevich 2003: u = b v
        elif pop.model == "izhikevich2007" and cp.u_mode == "linear":
            init_u[sl] = b[sl] * (v - cp.vr_mV)
        if pop.model == "l5_pyramidal":
            init_u[sl] = b[sl] * (v - cp.vr_mV)     # the soma's u at rest for its v
            init_vd[sl] = cp.EL_mV if pop.init.vd_mV is None else pop.init.vd_mV
            init_wd[sl] = cp.bd_nS * (init_vd[sl] - cp.EL_mV)   # w_d at its steady state for v_d
            init_kap[sl] = cp.kappa

    # ---- channels
    rec_params = spec.receptors
    ch_E = np.zeros(E.NCH)
    ch_mg = np.zeros(E.NCH, np.uint8)
    ch_decay = np.zeros(E.NCH)
    for r, rname in enumerate(RECEPTOR_NAMES):
        for comp in range(2):
            ch = channel(r, comp)
            if rname in rec_params:
                rp = rec_params[rname]
                ch_E[ch] = rp.E_mV
                ch_mg[ch] = 1 if rp.mg_block else 0
                ch_decay[ch] = math.exp(-dt / rp.tau_ms)
    used = set()

    # ---- pathways
    wiring_infos = {}
    placements = {}
    for name in names:
        # one placement stream per population name: adding a population never moves others
        place_rng = np.random.default_rng(stream(seed, "placement", _name_key(name)))
        placements[name] = _conn.place(spec.populations[name].n, spec.space, place_rng)
    row_ptrs, posts, ws, dlys = [], [], [], []
    path_row0, path_pre0, path_rec_ptr, path_rec_ch, path_rec_scale = [], [], [0], [], []
    path_dly = []
    path_dense = []
    by_pre = [[] for _ in names]
    syn_off = 0
    row_off = 0
    max_delay = 0
    for k, (pname, pw) in enumerate(spec.pathways.items()):
        pre, post = spec.populations[pw.pre], spec.populations[pw.post]
        syn = ckey = None
        if wiring_cache:
            from . import __version__

            ckey = _wc.key(pw, pre.n, post.n, spec.space, pname, seed, __version__)
            syn = _wc.load(wiring_cache, ckey, pre.n, post.n)
        if syn is None:
            syn = _draw_pathway(pname, pw, pre, post, placements, seed)
            if ckey is not None:
                _wc.store(wiring_cache, ckey, syn)
        if syn.n:
            max_delay = max(max_delay, int(syn.delay.max()))
            if max_delay > MAX_DELAY_STEPS:
                raise SpecError(f"pathways.{pname}.delay_steps", max_delay,
                                f"delays of at most {MAX_DELAY_STEPS} steps (the delay ring holds "
                                "12 channels x neurons per step of delay)")
        row_ptrs.append(syn.indptr[:-1] + syn_off)
        posts.append((syn.post, slices[pw.post].start))
        ws.append(syn.weight)
        dlys.append(syn.delay)
        path_row0.append(row_off)
        path_pre0.append(slices[pw.pre].start)
        # one delay for every synapse of the pathway lets the kernel skip per-synapse delays
        path_dly.append(int(syn.delay[0]) if syn.n and np.all(syn.delay == syn.delay[0]) else
                        (pw.delay_steps if not syn.n else -1))
        # dense: every presynaptic row targets the whole post population, in index order
        path_dense.append(1 if syn.n == pre.n * post.n and syn.n > 0 else 0)
        if pw.target == "gate":
            chans, scales = [channel(5, 0)], [1.0]
        else:
            comp = COMPARTMENTS.index(pw.target)
            chans, scales = _receptor_channels(dict(pw.receptors), comp)
        used.update(chans)
        path_rec_ch += chans
        path_rec_scale += scales
        path_rec_ptr.append(len(path_rec_ch))
        by_pre[names.index(pw.pre)].append(k)
        wiring_infos[pname] = PathwayInfo(pname, pw.pre, pw.post, syn_off, syn_off + syn.n, row_off, syn.n)
        syn_off += syn.n
        row_off += pre.n
    row_ptr = np.concatenate(row_ptrs + [np.array([syn_off], np.int64)]) if row_ptrs else np.zeros(1, np.int64)
    # the pathways' synapses side by side, targets made global, in one pass each
    post_all = np.empty(syn_off, np.int32)
    w_all = np.empty(syn_off, np.float32)
    dly_all = np.empty(syn_off, np.uint16)
    o = 0
    for (pl, start), wl, dl in zip(posts, ws, dlys):
        n_k = pl.shape[0]
        np.add(pl, np.int32(start), out=post_all[o:o + n_k])
        w_all[o:o + n_k] = wl
        dly_all[o:o + n_k] = dl
        o += n_k
    del posts, ws, dlys
    pop_path_ptr = np.zeros(len(names) + 1, np.int64)
    np.cumsum([len(x) for x in by_pre], out=pop_path_ptr[1:])
    pop_paths = np.array([k for x in by_pre for k in x], np.int64)

    # ---- external inputs
    pin = dict(lo=[], hi=[], rate=[], t0=[], t1=[], ramp=[], shared=[], w_ptr=[0], w=[], rec_ptr=[0], rec_ch=[],
               rec_scale=[])
    inputs = []
    for iname, inp in spec.inputs.items():
        sl = slices[inp.population]
        prof = _profile(inp, sl.stop - sl.start, placements[inp.population])
        comp = COMPARTMENTS.index(inp.compartment)
        t0 = int(round(inp.start_ms / dt))
        t1 = int(round(inp.stop_ms / dt)) if math.isfinite(inp.stop_ms) else np.iinfo(np.int64).max
        if inp.kind == "poisson":
            chans, scales = _receptor_channels(dict(inp.receptors), comp)
            used.update(chans)
            pin["lo"].append(sl.start)
            pin["hi"].append(sl.stop)
            pin["rate"].append(inp.rate_hz)
            pin["t0"].append(t0)
            pin["t1"].append(t1)
            pin["ramp"].append(int(round(inp.ramp_ms / dt)))
            pin["shared"].append(1 if inp.shared else 0)
            pin["w"].append(inp.weight * prof)
            pin["w_ptr"].append(pin["w_ptr"][-1] + len(prof))
            pin["rec_ch"] += chans
            pin["rec_scale"] += scales
            pin["rec_ptr"].append(len(pin["rec_ch"]))
        else:
            amp = inp.amplitude_pA if inp.kind == "current" else noise_step_sd(inp, dt)
            inputs.append(dict(name=iname, kind=inp.kind, lo=sl.start, hi=sl.stop, comp=comp,
                               t0=t0, t1=t1, values=amp * prof, period=int(round(inp.period_ms / dt)),
                               width=int(round(inp.pulse_ms / dt))))
    used = np.array(sorted(used), np.int64)

    # ---- plasticity and neuromodulation
    pla = _pl.build_arrays(spec, wiring_infos, slices, names,
                           post_all, row_ptr, dt)
    mplan = _nm.plan(spec, names, list(spec.pathways), pla.names, MOD_COLUMNS)

    order = np.lexsort((np.asarray(gen_i, np.int64), np.asarray(gen_t, np.int64)))
    rec_mask = np.zeros(N, np.uint8)
    for name in (spec.recording.spikes if spec.recording.spikes is not None else names):
        rec_mask[slices[name]] = 1

    i64 = lambda x: np.asarray(x, np.int64)  # noqa: E731
    f64 = lambda x: np.asarray(x, np.float64)  # noqa: E731
    net = E.Net(
        dt=float(dt), pop_start=pop_start, pop_kind=kinds, pp=pp, neuron_pop=neuron_pop,
        a=a, b=b, c=c, d=d,
        ch_used=used,
        cond_s=np.array([c for c in used if c % 2 == 0 and c // 2 not in (4, 5)], np.int64),
        cond_d=np.array([c for c in used if c % 2 == 1 and c // 2 not in (4, 5)], np.int64),
        ch_E=ch_E, ch_mg=ch_mg, ch_decay=ch_decay,
        row_ptr=row_ptr, post=post_all, w=w_all, dly=dly_all,
        path_row0=i64(path_row0), path_pre0=i64(path_pre0), pop_path_ptr=pop_path_ptr, pop_paths=pop_paths,
        path_dly=i64(path_dly), path_dense=np.asarray(path_dense, np.uint8),
        path_rec_ptr=i64(path_rec_ptr), path_rec_ch=i64(path_rec_ch), path_rec_scale=f64(path_rec_scale),
        pin_lo=i64(pin["lo"]), pin_hi=i64(pin["hi"]), pin_rate=f64(pin["rate"]), pin_t0=i64(pin["t0"]),
        pin_t1=i64(pin["t1"]), pin_ramp=i64(pin["ramp"]), pin_shared=np.asarray(pin["shared"], np.uint8),
        pin_w_ptr=i64(pin["w_ptr"]), pin_w=np.concatenate(pin["w"]) if pin["w"] else np.zeros(0),
        pin_rec_ptr=i64(pin["rec_ptr"]), pin_rec_ch=i64(pin["rec_ch"]), pin_rec_scale=f64(pin["rec_scale"]),
        rec_mask=rec_mask,
        sp=pla.sp, path_plastic=pla.path_plastic, pl_pre_lo=pla.pre_lo, pl_post_lo=pla.post_lo,
        pl_xoff=pla.xoff, pl_yoff=pla.yoff, pl_syn_lo=pla.syn_lo, pl_syn_hi=pla.syn_hi,
        col_ptr=pla.col_ptr, col_off=pla.col_off, col_syn=pla.col_syn, col_pre=pla.col_pre,
        pop_post_ptr=pla.pop_post_ptr, pop_post=pla.pop_post,
        mod_kind=mplan.kind, mod_index=mplan.index, mod_col=mplan.col,
        gen_t=np.asarray(gen_t, np.int64)[order], gen_i=np.asarray(gen_i, np.int64)[order],
        blk=np.array([0, N], np.int64), zig_k=ZIG_K, zig_w=ZIG_W, zig_f=ZIG_F,
    )
    return BuiltCircuit(spec=spec, seed=seed, net=net, pop_names=names, pop_slices=slices,
                        pathways=wiring_infos, placements=placements, init_v=init_v, init_u=init_u,
                        init_vd=init_vd, init_wd=init_wd, init_kap=init_kap, max_delay=max_delay, inputs=inputs,
                        plasticity=pla, modulation=mplan)
