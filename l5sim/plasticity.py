"""Spike-timing-dependent plasticity rules (science.md section 5).

A ``[plasticity.NAME]`` table defines a rule; a pathway uses it with
``plasticity = "NAME"``. Rules act on the pathway's stored weights (the connection weight
before the receptor multipliers), in the pathway's own units.

Pair rule (``rule = "pair"``), trace form: each presynaptic spike sets (``interaction =
"nearest"``, Izhikevich 2006 spnet: the trace is *set* to 1) or increments
(``"all_to_all"``: traces accumulate) a trace x decaying with ``tau_plus_ms``; each
postsynaptic spike does the same to a trace y decaying with ``tau_minus_ms``.

* presynaptic spike: depression, dw = -A_minus y  (additive)
  or dw = -A_minus y (w - w_min)  (``update = "multiplicative"``, soft bound);
* postsynaptic spike: potentiation, dw = +A_plus x  (additive)
  or dw = +A_plus x (w_max - w)  (multiplicative).

Every postsynaptic spike of a burst reads the presynaptic trace, so a burst of n spikes
after one presynaptic spike potentiates by A_plus sum_k exp(-dt_k / tau_plus) with the
all-to-all rule and likewise with the nearest rule (the presynaptic trace is not reset by
postsynaptic spikes). Hard bounds [w_min, w_max] always apply.

Triplet rule (``rule = "triplet"``, Pfister & Gerstner 2006, J Neurosci 26:9673, eqs. 3-4):
pre traces r1 (tau_plus_ms), r2 (tau_x_ms), post traces o1 (tau_minus_ms), o2 (tau_y_ms);
presynaptic spike: dw = -o1 (A2_minus + A3_minus r2), then r1, r2 updated; postsynaptic spike:
dw = +r1 (A2_plus + A3_plus o2), o2 read before its own update. Defaults: visual-cortex
all-to-all minimal model of Pfister & Gerstner 2006, Table 4 (tau+ 16.8, tau- 33.7, tau_y
125 ms, A2+ 5e-10, A3+ 6.2e-3, A2- 7e-3, A3- 0).

Timing: ``immediate`` applies each change at once; ``deferred`` (Izhikevich 2006 spnet)
accumulates changes into a derivative sd and applies w <- clip(w + bias + sd) and
sd <- decay * sd every ``interval_ms`` (spnet: 1000 ms, bias 0.01, decay 0.9).

Every change is multiplied by ``learning_rate`` and by the rule's neuromodulatory factor
(a third factor; see :mod:`l5sim.neuromodulation`). Times are those of somatic spikes
(emission), not of arrival after the delay.

Reward-modulated STDP (``dopamine = "NAME"``, deferred timing only; Izhikevich 2007,
Cereb Cortex 17:2443, "Solving the distal reward problem", its eqs. and dastdp code;
Fremaux & Gerstner 2016, Front Neural Circuits 9:85, eq. 3): the deferred sum sd is the
synapse's eligibility trace c. The STDP window writes into it as above; every
``interval_ms`` the weight changes by the eligibility times the dopamine level and the
trace decays::

    w <- clip(w + (deferred_bias + d(t)) * sd, w_min, w_max),   sd <- deferred_decay * sd

with d(t) the level of the modulator NAME at that step (its tonic level, pulses and any
level a trial loop sets; it may be negative: a reward-prediction error). This differs
from the plain deferred update (``w + bias + sd``) only in that the bias and the dopamine
*multiply* the eligibility. The eligibility time constant is
tau_c = -interval_ms / ln(deferred_decay). Izhikevich (2007): interval 10 ms, decay 0.99
(tau_c = 995 ms), bias 0.002, A+ 0.1, A- 0.15 (his LTD is 1.5 x the 0.1 trace), traces
decaying 0.95 per ms, weights in [0, 4]; :data:`RSTDP_IZH2007` holds them. In the dc/dt
form of Fremaux & Gerstner (2016), dw/dt = c d: our update is its Euler step over the
interval, with c the eligibility summed since the last update.

Izhikevich 2006 (Neural Comput 18:245) constants: A_plus 0.1, A_minus 0.12, traces decaying
by 0.95 per 1 ms step (tau = -1 / ln 0.95 = 19.5 ms), weights in [0, 10].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .errors import SpecError

TAU_IZH2006_MS = -1.0 / math.log(0.95)  #: spnet trace decay 0.95 per 1 ms step


@dataclass(frozen=True)
class STDPRule:
    """One ``[plasticity.NAME]`` table (see the module docstring)."""

    rule: str = "pair"
    interaction: str = "nearest"
    update: str = "additive"
    timing: str = "immediate"
    A_plus: float = 0.1
    A_minus: float = 0.12
    tau_plus_ms: float = TAU_IZH2006_MS
    tau_minus_ms: float = TAU_IZH2006_MS
    A2_plus: float = 5e-10
    A3_plus: float = 6.2e-3
    A2_minus: float = 7e-3
    A3_minus: float = 0.0
    tau_x_ms: float = 101.0
    tau_y_ms: float = 125.0
    w_min: float = 0.0
    w_max: float = 10.0
    learning_rate: float = 1.0
    interval_ms: float = 1000.0
    deferred_bias: float = 0.01
    deferred_decay: float = 0.9
    dopamine: str = ""
    source: str = "Izhikevich 2006, Neural Comput 18:245 (spnet)"


_CHOICES = {"rule": ("pair", "triplet"), "interaction": ("nearest", "all_to_all"),
            "update": ("additive", "multiplicative"), "timing": ("immediate", "deferred")}
_POSITIVE = ("tau_plus_ms", "tau_minus_ms", "tau_x_ms", "tau_y_ms", "interval_ms")
_NONNEG = ("A_plus", "A_minus", "A2_plus", "A3_plus", "A2_minus", "A3_minus", "learning_rate")

#: Pfister & Gerstner 2006, Table 4, visual cortex, all-to-all minimal model.
TRIPLET_DEFAULTS = dict(tau_plus_ms=16.8, tau_minus_ms=33.7, tau_y_ms=125.0, tau_x_ms=101.0,
                        A2_plus=5e-10, A3_plus=6.2e-3, A2_minus=7e-3, A3_minus=0.0,
                        interaction="all_to_all",
                        source="Pfister & Gerstner 2006, J Neurosci 26:9673, Table 4 (visual cortex, minimal)")

#: Izhikevich 2007 (Cereb Cortex 17:2443), dopamine-modulated STDP as in its dastdp code:
#: STDP traces set to 1 at a spike and decaying 0.95 per 1 ms step, A+ 0.1, A- 0.15 (LTD
#: 1.5 x the 0.1 trace), eligibility applied every 10 ms with decay 0.99 (tau_c ~ 1 s),
#: w <- clip(w + (0.002 + DA) sd, 0, 4).
RSTDP_IZH2007 = dict(rule="pair", interaction="nearest", update="additive", timing="deferred", A_plus=0.1,
                     A_minus=0.15, tau_plus_ms=TAU_IZH2006_MS, tau_minus_ms=TAU_IZH2006_MS, w_min=0.0, w_max=4.0,
                     interval_ms=10.0, deferred_bias=0.002, deferred_decay=0.99,
                     source="Izhikevich 2007, Cereb Cortex 17:2443 (dastdp)")


def _rule_from_table(name, table):
    path = f"plasticity.{name}"
    if not isinstance(table, dict):
        raise SpecError(path, table, "a table of STDP parameters")
    fields_ = STDPRule.__dataclass_fields__
    for k in table:
        if k not in fields_:
            raise SpecError(f"{path}.{k}", table[k], f"no such key; allowed keys: {sorted(fields_)}")
    kw = {}
    if table.get("rule") == "triplet":
        kw.update({k: v for k, v in TRIPLET_DEFAULTS.items() if k not in table})
    for k, v in table.items():
        if k == "dopamine":
            if not isinstance(v, str):
                raise SpecError(f"{path}.{k}", v, "the name of a modulator in [modulators] (a string)")
        elif k in _CHOICES or k == "source":
            if not isinstance(v, str) or (k in _CHOICES and v not in _CHOICES[k]):
                raise SpecError(f"{path}.{k}", v, f"one of {list(_CHOICES[k])}" if k in _CHOICES else "a string")
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SpecError(f"{path}.{k}", v, "a finite number")
            try:
                v = float(v)
            except OverflowError:
                raise SpecError(f"{path}.{k}", v, "a number within the float range") from None
            if not math.isfinite(v):
                raise SpecError(f"{path}.{k}", v, "a finite number")
            if k in _POSITIVE and v <= 0:
                raise SpecError(f"{path}.{k}", v, "a number > 0")
            if k in _NONNEG and v < 0:
                raise SpecError(f"{path}.{k}", v, "a number >= 0")
            if k == "deferred_decay" and not 0 <= v <= 1:
                raise SpecError(f"{path}.{k}", v, "a number in [0, 1]")
        kw[k] = v
    rule = STDPRule(**kw)
    if rule.w_max < rule.w_min:
        raise SpecError(f"{path}.w_max", rule.w_max, f"a number >= w_min ({rule.w_min})")
    if rule.dopamine and rule.timing != "deferred":
        raise SpecError(f"{path}.timing", rule.timing,
                        "'deferred' for a reward-modulated rule (dopamine multiplies the deferred eligibility)")
    return rule


def validate(tables, spec):
    """Validate the ``[plasticity]`` section; returns ``{name: STDPRule}`` (read-only).
    A rule's ``dopamine`` modulator is checked against ``[modulators]`` by
    :func:`l5sim.neuromodulation.validate`."""
    rules = {name: _rule_from_table(name, table) for name, table in tables.items()}
    for pname, pw in spec.pathways.items():
        if pw.plasticity:
            if pw.target == "gate":
                raise SpecError(f"pathways.{pname}.plasticity", pw.plasticity, "no plasticity on a gate pathway")
    return MappingProxyType(rules)


# ---- flat arrays for the kernel ---------------------------------------------------------
# Columns of the per-plastic-pathway parameter table ``sp`` (float64).
(S_TRIPLET, S_NEAREST, S_MULT, S_DEFERRED, S_AP, S_AM, S_DEC_P, S_DEC_M, S_A2P, S_A3P, S_A2M, S_A3M,
 S_DEC_X, S_DEC_Y, S_WMIN, S_WMAX, S_LR, S_INTERVAL, S_BIAS, S_SDDECAY, S_DOPAMINE) = range(21)
NSP = 21


@dataclass
class PlasticityArrays:
    """Flat arrays describing every plastic pathway (built by :func:`build_arrays`)."""

    path_plastic: np.ndarray        # int64 per pathway: plastic index or -1
    sp: np.ndarray                  # (n_plastic, NSP) parameters
    pre_lo: np.ndarray              # global index of each plastic pathway's first pre neuron
    post_lo: np.ndarray
    xoff: np.ndarray                # offset of the pre traces of each plastic pathway
    yoff: np.ndarray
    syn_lo: np.ndarray              # first synapse of the pathway in the global arrays
    syn_hi: np.ndarray
    col_ptr: np.ndarray             # per plastic pathway, CSC over post neurons (concatenated)
    col_off: np.ndarray             # offset of each pathway's col_ptr block
    col_syn: np.ndarray             # int32 synapse ids (global)
    col_pre: np.ndarray             # int32 local pre index of each entry
    pop_post_ptr: np.ndarray        # plastic pathways by post population (CSR)
    pop_post: np.ndarray
    names: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.sp.shape[0])


def info_max(pathways_info) -> int:
    return max((i.syn_hi for i in pathways_info.values()), default=0)


def build_arrays(spec, pathways_info, pop_slices, pop_names, net_post, net_row_ptr, dt):
    """Flatten the plastic pathways of a built circuit (see :class:`PlasticityArrays`)."""
    plastic = [(k, name) for k, (name, pw) in enumerate(spec.pathways.items()) if pw.plasticity]
    n_path = len(spec.pathways)
    path_plastic = np.full(max(n_path, 1), -1, np.int64)
    sp = np.zeros((len(plastic), NSP))
    pre_lo, post_lo, xoff, yoff, syn_lo, syn_hi, col_off = [], [], [], [], [], [], []
    col_ptrs, col_syns, col_pres = [], [], []
    by_post = [[] for _ in pop_names]
    xo = yo = co = 0
    for q, (k, name) in enumerate(plastic):
        pw = spec.pathways[name]
        r = spec.plasticity[pw.plasticity]
        path_plastic[k] = q
        row = sp[q]
        row[S_TRIPLET] = 1.0 if r.rule == "triplet" else 0.0
        row[S_NEAREST] = 1.0 if r.interaction == "nearest" else 0.0
        row[S_MULT] = 1.0 if r.update == "multiplicative" else 0.0
        row[S_DEFERRED] = 1.0 if r.timing == "deferred" else 0.0
        row[S_AP], row[S_AM] = r.A_plus, r.A_minus
        row[S_DEC_P], row[S_DEC_M] = math.exp(-dt / r.tau_plus_ms), math.exp(-dt / r.tau_minus_ms)
        row[S_A2P], row[S_A3P], row[S_A2M], row[S_A3M] = r.A2_plus, r.A3_plus, r.A2_minus, r.A3_minus
        row[S_DEC_X], row[S_DEC_Y] = math.exp(-dt / r.tau_x_ms), math.exp(-dt / r.tau_y_ms)
        row[S_WMIN], row[S_WMAX], row[S_LR] = r.w_min, r.w_max, r.learning_rate
        row[S_INTERVAL] = max(1, int(round(r.interval_ms / dt)))
        row[S_BIAS], row[S_SDDECAY] = r.deferred_bias, r.deferred_decay
        row[S_DOPAMINE] = 1.0 if r.dopamine else 0.0
        info = pathways_info[name]
        pre_sl, post_sl = pop_slices[pw.pre], pop_slices[pw.post]
        n_pre, n_post = pre_sl.stop - pre_sl.start, post_sl.stop - post_sl.start
        pre_lo.append(pre_sl.start)
        post_lo.append(post_sl.start)
        xoff.append(xo)
        yoff.append(yo)
        xo += n_pre
        yo += n_post
        syn_lo.append(info.syn_lo)
        syn_hi.append(info.syn_hi)
        # CSC: synapses of this pathway grouped by post neuron
        rp = net_row_ptr[info.row0:info.row0 + n_pre + 1]
        pre_local = np.repeat(np.arange(n_pre), np.diff(rp))
        syn_ids = np.arange(info.syn_lo, info.syn_hi)
        post_local = net_post[info.syn_lo:info.syn_hi].astype(np.int64) - post_sl.start
        order = np.argsort(post_local, kind="stable")
        cp = np.zeros(n_post + 1, np.int64)
        np.cumsum(np.bincount(post_local, minlength=n_post), out=cp[1:])
        col_off.append(co)
        col_ptrs.append(cp + sum(len(c) for c in col_syns))
        col_syns.append(syn_ids[order])
        col_pres.append(pre_local[order].astype(np.int32))
        co += n_post + 1
        by_post[pop_names.index(pw.post)].append(q)
    cat = lambda xs, dt_: np.concatenate(xs).astype(dt_) if xs else np.zeros(0, dt_)  # noqa: E731
    pop_post_ptr = np.zeros(len(pop_names) + 1, np.int64)
    np.cumsum([len(x) for x in by_post], out=pop_post_ptr[1:])
    return PlasticityArrays(
        path_plastic=path_plastic, sp=sp, pre_lo=np.asarray(pre_lo, np.int64), post_lo=np.asarray(post_lo, np.int64),
        xoff=np.asarray(xoff + [xo], np.int64), yoff=np.asarray(yoff + [yo], np.int64), syn_lo=np.asarray(syn_lo, np.int64), syn_hi=np.asarray(syn_hi, np.int64),
        col_ptr=cat(col_ptrs, np.int64), col_off=np.asarray(col_off, np.int64), col_syn=cat(col_syns, np.int32 if info_max(pathways_info) < 2**31 - 1 else np.int64),
        col_pre=cat(col_pres, np.int32), pop_post_ptr=pop_post_ptr,
        pop_post=np.asarray([q for x in by_post for q in x], np.int64), names=[n for _, n in plastic])
