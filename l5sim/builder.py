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
from .kernels import records as R
from .kernels.rng import ZIG_F, ZIG_K, ZIG_W
from .models import izhikevich as _izh
from .models.synapses import COMPARTMENTS, RECEPTOR_NAMES, channel
from .sizing import check_build

#: Registered integration schemes: name -> kernel code (``Neurons.scheme``).
SCHEMES = {"euler": R.I_EULER, "semi_implicit": R.I_SEMI, "izh2003": R.I_IZH03, "none": R.I_EULER}
#: Registered neuron models: name -> kernel kind (``Neurons.kind``; the kind's population
#: model module is registered in :data:`l5sim.kernels.engine.MODELS`).
MODELS = {"l5_pyramidal": R.K_L5, "izhikevich2007": R.K_IZH07, "izhikevich2003": R.K_IZH03,
          "adex": R.K_ADEX, "poisson": R.K_POISSON, "generator": R.K_GEN}
#: Neuromodulation targets of a population -> column of the modulated-parameter table.
MOD_COLUMNS = {"kappa": R.M_KAPPA_OFFSET, "dend_drive_pA": R.M_DEND_DRIVE_PA, "soma_drive_pA": R.M_SOMA_DRIVE_PA,
               "gCa_pA": R.M_GCA_PA, "c_mV": R.M_RESET_V_OFFSET, "d_pA": R.M_RESET_U_OFFSET}
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
    net : :class:`l5sim.kernels.records.Net` arrays (read-only for the kernels).
    pop_names : population names in index order.
    pop_slices : name -> slice of the global neuron index.
    pathways : name -> :class:`PathwayInfo`.
    placements : name -> :class:`l5sim.connectivity.Placement`.
    spike_mask : uint8 per neuron, 1 where the circuit's ``[recording]`` keeps spikes.
    layouts : synapse layouts that kernels derive from ``net`` on first use and keep for
        later runs (as NEST prepares its connection infrastructure once); not part of the
        circuit, never saved.
    """

    spec: object
    seed: int
    net: R.Net
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
    spike_mask: np.ndarray = None
    layouts: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_neurons(self) -> int:
        return int(self.net.neurons.pop_start[-1])

    @property
    def n_synapses(self) -> int:
        return int(self.net.synapses.post.shape[0])

    @property
    def dt_ms(self) -> float:
        return float(self.net.dt)

    def synapse_bytes(self) -> int:
        """Bytes of synapse storage (targets, weights, delays and row pointers), with the
        layouts a kernel derived from them (:attr:`layouts`) once it has run."""
        n = self.net.synapses
        own = (n.post, n.weight, n.delay, n.row_ptr)
        derived = {id(a): a for v in self.layouts.values() for a in v
                   if isinstance(a, np.ndarray) and not any(a is b for b in own)}
        return int(sum(a.nbytes for a in own) + sum(a.nbytes for a in derived.values()))

    def population_of(self, i: int) -> tuple[str, int]:
        """(population name, local index) of global neuron ``i``."""
        pop_start = self.net.neurons.pop_start
        p = int(np.searchsorted(pop_start, i, side="right") - 1)
        return self.pop_names[p], int(i - pop_start[p])

    def weights(self, pathway: str) -> np.ndarray:
        """A copy of the current float32 weights of a pathway (in CSR order)."""
        info = self.pathways[pathway]
        return self.net.synapses.weight[info.syn_lo:info.syn_hi].copy()

    def connections(self, pathway: str):
        """(pre_local, post_local, weight, delay_steps) arrays of a pathway."""
        info = self.pathways[pathway]
        n = self.net.synapses
        pre_n = self.pop_slices[info.pre].stop - self.pop_slices[info.pre].start
        rp = n.row_ptr[info.row0:info.row0 + pre_n + 1]
        pre = np.repeat(np.arange(pre_n), np.diff(rp))
        post = n.post[info.syn_lo:info.syn_hi] - self.pop_slices[info.post].start
        return pre, post, n.weight[info.syn_lo:info.syn_hi].copy(), n.delay[info.syn_lo:info.syn_hi].copy()


class _Table:
    """Per-population columns of one parameter record, filled population by population."""

    def __init__(self, record, n_pop, dtypes=None):
        self.record = record
        self.cols = {f: np.zeros(n_pop, (dtypes or {}).get(f, np.float64)) for f in record._fields}

    def set(self, p, **values):
        for k, v in values.items():
            self.cols[k][p] = v

    def done(self):
        return self.record(**self.cols)


def _pack_izh2003(t, p, pop, prm, dt):
    t.set(p, vpeak_mV=prm.vpeak_mV)
    return prm.a, prm.b, prm.c, prm.d


def _pack_izh2007(t, p, pop, prm, dt):
    # the reset guard's ceiling: the cut-off minus reset_margin_mV (models.izhikevich)
    t.set(p, C_pF=prm.C_pF, k_nS_per_mV=prm.k, vr_mV=prm.vr_mV, vt_mV=prm.vt_mV, vpeak_mV=prm.vpeak_mV,
          vpeak_u_mV_per_pA=prm.vpeak_u, c_u_mV_per_pA=prm.c_u, u_max_pA=prm.u_max_pA,
          u_mode=_izh.U_MODES[prm.u_mode], vb_mV=prm.vb_mV, nmda_cap_nS=prm.nmda_cap_nS,
          reset_ceiling_mV=prm.vpeak_mV - prm.reset_margin_mV)
    return prm.a_per_ms, prm.b_nS, prm.c_mV, prm.d_pA


def _pack_l5(t, p, pop, prm, dt):
    start = int(round(prm.bap_start_ms / dt))
    stop = int(round(prm.bap_stop_ms / dt))
    if not 0 <= start <= stop <= 62:
        raise SpecError("params.bap_stop_ms", prm.bap_stop_ms,
                        f"a bAP window of at most 62 steps after the spike (dt_ms = {dt})")
    gate = {"per_step": R.G_PER_STEP, "deterministic": R.G_DETERMINISTIC, "per_spike": R.G_PER_SPIKE}[prm.gate]
    t.set(p, C_pF=prm.C_pF, k_nS_per_mV=prm.k, vr_mV=prm.vr_mV, vt_mV=prm.vt_mV, vpeak_mV=prm.vpeak_mV,
          nmda_cap_nS=prm.nmda_cap_nS, c_burst_mV=prm.c_burst_mV, d_burst_pA=prm.d_burst_pA,
          dg_adapt_nS=prm.dg_adapt_nS, decay_adapt=math.exp(-dt / prm.tau_adapt_ms), E_adapt_mV=prm.E_adapt_mV,
          Cd_pF=prm.Cd_pF, EL_mV=prm.EL_mV, gL_nS=prm.gL_nS, Ehalf_mV=prm.Ehalf_mV, D_mV=prm.D_mV,
          tau_w_ms=prm.tau_w_ms, bd_nS=prm.bd_nS, plateau_mV=prm.plateau_mV, bap_pA=prm.bap_pA,
          bap_start_steps=start, bap_stop_steps=stop, kappa=prm.kappa,
          kappa_state=1 if prm.kappa_mode == "state" else 0, kappa_rest=prm.kappa_rest,
          decay_kappa=math.exp(-dt / prm.tau_kappa_ms), gate=gate, gs_pA=prm.gs_pA, G_nS=prm.G_nS)
    return prm.a_per_ms, prm.b_nS, prm.c_reg_mV, prm.d_reg_pA


def _pack_adex(t, p, pop, prm, dt):
    t.set(p, C_pF=prm.C_pF, gL_nS=prm.gL_nS, EL_mV=prm.EL_mV, VT_mV=prm.VT_mV, DeltaT_mV=prm.DeltaT_mV,
          a_nS=prm.a_nS, tau_w_ms=prm.tau_w_ms, b_pA=prm.b_pA, Vr_mV=prm.Vr_mV, vpeak_mV=prm.vpeak_mV,
          nmda_cap_nS=prm.nmda_cap_nS)
    return 0.0, 0.0, 0.0, 0.0     # no per-neuron Izhikevich parameters


#: Model name -> (record field of ``Net``, packing function of one population's
#: parameters into it, returning the per-neuron (a, b, c, d) defaults).
PACKERS = {"izhikevich2003": ("izh2003", _pack_izh2003), "izhikevich2007": ("izh2007", _pack_izh2007),
           "l5_pyramidal": ("l5", _pack_l5), "adex": ("adex", _pack_adex)}
_RECORDS = {"izh2003": R.Izh2003Params, "izh2007": R.Izh2007Params, "l5": R.L5Params, "adex": R.AdexParams,
            "sources": R.SourceParams}
_INT_FIELDS = {"u_mode": np.int64, "bap_start_steps": np.int64, "bap_stop_steps": np.int64, "gate": np.int64,
               "kappa_state": np.uint8}


def _param_records(spec, names, dt):
    """Per-model parameter records, the baseline modulated table, the per-population kind,
    scheme and detection arrays, and per-population (a, b, c, d) defaults."""
    n_pop = len(names)
    tables = {k: _Table(rec, n_pop, _INT_FIELDS) for k, rec in _RECORDS.items()}
    base = np.zeros((n_pop, R.N_MODULATED))
    kind = np.zeros(n_pop, np.int32)
    scheme = np.zeros(n_pop, np.int64)
    lag = np.zeros(n_pop, np.uint8)
    abcd = []
    for p, name in enumerate(names):
        pop = spec.populations[name]
        kind[p] = MODELS[pop.model]
        scheme[p] = SCHEMES[pop.integration]
        if pop.model in ("poisson", "generator"):
            tables["sources"].set(p, rate_hz=pop.rate_hz)
            abcd.append((0.0, 0.0, 0.0, 0.0))
            continue
        lag[p] = 1 if pop.spike_detection == "next_step" else 0
        prm = pop.cell_params()
        field_, pack = PACKERS[pop.model]
        abcd.append(pack(tables[field_], p, pop, prm, dt))
        if pop.model == "l5_pyramidal":
            base[p, R.M_GCA_PA] = prm.gCa_pA
    recs = {k: t.done() for k, t in tables.items()}
    return recs, base, kind, scheme, lag, abcd


def _stdp_rules(sp):
    """The typed rule record from the plastic-pathway table of :mod:`l5sim.plasticity`."""
    col = lambda c: np.ascontiguousarray(sp[:, c])  # noqa: E731
    flag = lambda c: (sp[:, c] > 0.5).astype(np.uint8)  # noqa: E731
    return R.StdpRules(
        triplet=flag(_pl.S_TRIPLET), nearest=flag(_pl.S_NEAREST), multiplicative=flag(_pl.S_MULT),
        deferred=flag(_pl.S_DEFERRED), A_plus=col(_pl.S_AP), A_minus=col(_pl.S_AM), decay_plus=col(_pl.S_DEC_P),
        decay_minus=col(_pl.S_DEC_M), A2_plus=col(_pl.S_A2P), A3_plus=col(_pl.S_A3P), A2_minus=col(_pl.S_A2M),
        A3_minus=col(_pl.S_A3M), decay_x=col(_pl.S_DEC_X), decay_y=col(_pl.S_DEC_Y), w_min=col(_pl.S_WMIN),
        w_max=col(_pl.S_WMAX), learning_rate=col(_pl.S_LR), interval_steps=sp[:, _pl.S_INTERVAL].astype(np.int64),
        deferred_bias=col(_pl.S_BIAS), deferred_decay=col(_pl.S_SDDECAY), dopamine=flag(_pl.S_DOPAMINE))


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


def _neuron_arrays(spec, names, slices, abcd, seed, dt):
    """Per-neuron (a, b, c, d) with the populations' heterogeneity, initial states, and the
    generators' scheduled spikes."""
    N = sum(spec.populations[n].n for n in names)
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
        pa, pb, pc, pd = abcd[pi]
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
        rest = {"izhikevich2003": -65.0, "adex": getattr(cp, "EL_mV", None)}.get(pop.model, getattr(cp, "vr_mV", None))
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

    init = dict(v=init_v, u=init_u, vd=init_vd, wd=init_wd, kap=init_kap)
    return (a, b, c, d), init, gen_t, gen_i


def _channel_params(spec, dt):
    """Per channel: reversal potential, Mg block flag and decay factor per step."""
    rec_params = spec.receptors
    ch_E = np.zeros(R.NCH)
    ch_mg = np.zeros(R.NCH, np.uint8)
    ch_decay = np.zeros(R.NCH)
    for r, rname in enumerate(RECEPTOR_NAMES):
        for comp in range(2):
            ch = channel(r, comp)
            if rname in rec_params:
                rp = rec_params[rname]
                ch_E[ch] = rp.E_mV
                ch_mg[ch] = 1 if rp.mg_block else 0
                ch_decay[ch] = math.exp(-dt / rp.tau_ms)

    return ch_E, ch_mg, ch_decay


def _join_freeing(parts, dtype, n, offsets=None):
    """The arrays of the list ``parts`` side by side in one new array of ``n`` elements (each
    part plus its entry of ``offsets``, when given), emptying the list as it goes: a part
    held by the list alone is freed once copied."""
    out = np.empty(n, dtype)
    o = 0
    for k in range(len(parts)):
        part, parts[k] = parts[k], None
        n_k = part.shape[0]
        if offsets is None:
            out[o:o + n_k] = part
        else:
            np.add(part, dtype(offsets[k]), out=out[o:o + n_k])
        o += n_k
        del part
    return out


def _wire(spec, names, slices, placements, seed, wiring_cache, used):
    """Every pathway's synapses side by side in CSR arrays (drawn, or from the wiring
    cache); adds the channels they use to ``used``."""
    wiring_infos = {}
    row_ptrs, posts, post_starts, ws, dlys = [], [], [], [], []
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
        posts.append(syn.post)
        post_starts.append(slices[pw.post].start)
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
    syn = None          # each pathway's arrays are now held by the lists alone
    row_ptr = np.concatenate(row_ptrs + [np.array([syn_off], np.int64)]) if row_ptrs else np.zeros(1, np.int64)
    # the pathways' synapses side by side, targets made global; each pathway's array is freed
    # as soon as it is copied, so that the build's peak is the circuit's synapse arrays plus
    # one pathway's targets, not the synapse arrays twice
    post_all = _join_freeing(posts, np.int32, syn_off, post_starts)
    w_all = _join_freeing(ws, np.float32, syn_off)
    dly_all = _join_freeing(dlys, np.uint16, syn_off)
    pop_path_ptr = np.zeros(len(names) + 1, np.int64)
    np.cumsum([len(x) for x in by_pre], out=pop_path_ptr[1:])
    pop_paths = np.array([k for x in by_pre for k in x], np.int64)

    i64 = lambda x: np.asarray(x, np.int64)  # noqa: E731
    synapses = R.Synapses(
        row_ptr=row_ptr, post=post_all, weight=w_all, delay=dly_all,
        path_row0=i64(path_row0), path_pre0=i64(path_pre0), pop_path_ptr=pop_path_ptr, pop_paths=pop_paths,
        path_delay=i64(path_dly), path_dense=np.asarray(path_dense, np.uint8),
        path_rec_ptr=i64(path_rec_ptr), path_rec_channel=i64(path_rec_ch),
        path_rec_scale=np.asarray(path_rec_scale, np.float64),
        blocks=np.array([0, int(sum(spec.populations[n].n for n in names))], np.int64))
    return synapses, wiring_infos, max_delay


def _inputs(spec, slices, placements, dt, used):
    """Poisson inputs as kernel arrays, and the current / noise inputs that Python applies
    between chunks; adds the channels the Poisson inputs use to ``used``."""
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

    i64 = lambda x: np.asarray(x, np.int64)  # noqa: E731
    f64 = lambda x: np.asarray(x, np.float64)  # noqa: E731
    poisson_inputs = R.PoissonInputs(
        lo=i64(pin["lo"]), hi=i64(pin["hi"]), rate_hz=f64(pin["rate"]), t0=i64(pin["t0"]), t1=i64(pin["t1"]),
        ramp_steps=i64(pin["ramp"]), shared=np.asarray(pin["shared"], np.uint8), w_ptr=i64(pin["w_ptr"]),
        weight=np.concatenate(pin["w"]) if pin["w"] else np.zeros(0), rec_ptr=i64(pin["rec_ptr"]),
        rec_channel=i64(pin["rec_ch"]), rec_scale=f64(pin["rec_scale"]))
    return poisson_inputs, inputs


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

    records, mod_base, kinds, schemes, lag, abcd = _param_records(spec, names, dt)
    (a, b, c, d), init, gen_t, gen_i = _neuron_arrays(spec, names, slices, abcd, seed, dt)
    ch_E, ch_mg, ch_decay = _channel_params(spec, dt)
    placements = {}
    for name in names:
        # one placement stream per population name: adding a population never moves others
        place_rng = np.random.default_rng(stream(seed, "placement", _name_key(name)))
        placements[name] = _conn.place(spec.populations[name].n, spec.space, place_rng)
    used = set()
    synapses, wiring_infos, max_delay = _wire(spec, names, slices, placements, seed, wiring_cache, used)
    poisson_inputs, inputs = _inputs(spec, slices, placements, dt, used)
    used = np.array(sorted(used), np.int64)

    # ---- plasticity and neuromodulation
    pla = _pl.build_arrays(spec, wiring_infos, slices, names, synapses.post, synapses.row_ptr, dt)
    mplan = _nm.plan(spec, names, list(spec.pathways), pla.names, MOD_COLUMNS)

    order = np.lexsort((np.asarray(gen_i, np.int64), np.asarray(gen_t, np.int64)))
    rec_mask = np.zeros(N, np.uint8)
    for name in (spec.recording.spikes if spec.recording.spikes is not None else names):
        rec_mask[slices[name]] = 1

    neurons = R.Neurons(pop_start=pop_start, kind=kinds, scheme=schemes, detect_next_step=lag, pop_of=neuron_pop,
                        a=a, b=b, c=c, d=d)
    receptors = R.Receptors(
        used=used, soma_conductance=np.array([c for c in used if c % 2 == 0 and c // 2 not in (4, 5)], np.int64),
        dend_conductance=np.array([c for c in used if c % 2 == 1 and c // 2 not in (4, 5)], np.int64),
        reversal_mV=ch_E, mg_block=ch_mg, decay=ch_decay)
    plasticity = R.Plasticity(
        rules=_stdp_rules(pla.sp), path_plastic=pla.path_plastic, pre_lo=pla.pre_lo, post_lo=pla.post_lo,
        pre_trace_off=pla.xoff, post_trace_off=pla.yoff, syn_lo=pla.syn_lo, syn_hi=pla.syn_hi,
        col_ptr=pla.col_ptr, col_off=pla.col_off, col_syn=pla.col_syn, col_pre=pla.col_pre,
        pop_post_ptr=pla.pop_post_ptr, pop_post=pla.pop_post)
    net = R.Net(
        dt=float(dt), neurons=neurons, izh2003=records["izh2003"], izh2007=records["izh2007"], l5=records["l5"],
        adex=records["adex"], sources=records["sources"], receptors=receptors, synapses=synapses, poisson_inputs=poisson_inputs,
        plasticity=plasticity,
        modulation=R.Modulation(kind=mplan.kind, index=mplan.index, column=mplan.col, base=mod_base),
        generators=R.Generators(step=np.asarray(gen_t, np.int64)[order], neuron=np.asarray(gen_i, np.int64)[order]),
        ziggurat=R.Ziggurat(k=ZIG_K, w=ZIG_W, f=ZIG_F),
    )
    built = BuiltCircuit(spec=spec, seed=seed, net=net, pop_names=names, pop_slices=slices,
                         pathways=wiring_infos, placements=placements, init_v=init["v"], init_u=init["u"],
                         init_vd=init["vd"], init_wd=init["wd"], init_kap=init["kap"], max_delay=max_delay, inputs=inputs,
                         plasticity=pla, modulation=mplan, spike_mask=rec_mask)
    return built
