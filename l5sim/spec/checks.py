"""Checks across tables: names refer to tables that exist, sizes and times fit.

Each table validates itself on load (:mod:`l5sim.spec.fields`); what involves several
tables (a pathway's populations, an input's target neurons, a rate against ``dt_ms``) is
checked here once every table is read.
"""
from __future__ import annotations

import math

from ..errors import SpecError
from .inputs import MAX_EVENTS_PER_STEP

#: Largest time (in steps) that the builder turns into an int64 step index.
MAX_STEPS = 2 ** 62
#: The bAP window is a bit field of the spike history: at most 62 steps after the spike.
MAX_BAP_STEPS = 62


def cross_check(meta, pops, paths, inputs, recording, plasticity):
    """Check what involves several tables, once each is valid on its own: raise
    :class:`SpecError` at the first problem (populations, input timing, pathways, input
    targets, recording, in that order)."""
    _check_populations(meta, pops)
    _check_input_timing(meta, inputs)
    for name, pw in paths.items():
        _check_pathway(name, pw, pops, plasticity)
    _check_input_targets(pops, inputs)
    _check_recording(meta, pops, paths, recording)


def _check_populations(meta, pops):
    """The L5 bAP window and poisson rates against ``dt_ms``."""
    for name, pop in pops.items():
        if pop.model == "l5_pyramidal":
            p = pop.cell_params()
            if p.bap_start_ms < 0:
                raise SpecError(f"populations.{name}.params.bap_start_ms", p.bap_start_ms, "a number >= 0")
            if p.bap_stop_ms < p.bap_start_ms:
                raise SpecError(f"populations.{name}.params.bap_stop_ms", p.bap_stop_ms,
                                f"a number >= bap_start_ms ({p.bap_start_ms})")
            if not round(p.bap_stop_ms / meta.dt_ms) <= MAX_BAP_STEPS:
                raise SpecError(f"populations.{name}.params.bap_stop_ms", p.bap_stop_ms,
                                f"a bAP window of at most {MAX_BAP_STEPS} steps after the spike "
                                f"(<= {MAX_BAP_STEPS * meta.dt_ms:g} ms with dt_ms = {meta.dt_ms})")
    for name, pop in pops.items():
        if pop.model == "poisson" and pop.rate_hz * meta.dt_ms * 1e-3 > 1.0:
            raise SpecError(f"populations.{name}.rate_hz", pop.rate_hz,
                            f"a rate <= {1e3 / meta.dt_ms:g} Hz (1 / dt_ms: a poisson population fires at most "
                            "one spike per neuron and step)")


def _check_input_timing(meta, inputs):
    """Input rates and times against ``dt_ms``."""
    for name, inp in inputs.items():
        if inp.kind == "poisson" and inp.rate_hz * meta.dt_ms * 1e-3 > MAX_EVENTS_PER_STEP:
            raise SpecError(f"inputs.{name}.rate_hz", inp.rate_hz,
                            f"a rate <= {MAX_EVENTS_PER_STEP * 1e3 / meta.dt_ms:g} Hz (at most "
                            f"{MAX_EVENTS_PER_STEP:g} events per step of {meta.dt_ms} ms; for a stronger "
                            "drive raise the weight)")
        for key in ("start_ms", "stop_ms", "ramp_ms"):
            t = getattr(inp, key)
            if math.isfinite(t) and not t / meta.dt_ms < MAX_STEPS:
                raise SpecError(f"inputs.{name}.{key}", t,
                                f"a time < {MAX_STEPS * meta.dt_ms:g} ms ({MAX_STEPS} steps of dt_ms)")


def _check_pathway(name, pw, pops, plasticity):
    """A pathway's populations, target, receptors, delays, sizes and rule exist and fit."""
    for end in ("pre", "post"):
        ref = getattr(pw, end)
        if ref not in pops:
            raise SpecError(f"pathways.{name}.{end}", ref, f"a population name: {sorted(pops)}")
    post = pops[pw.post]
    pre = pops[pw.pre]
    if post.model == "poisson":
        raise SpecError(f"pathways.{name}.post", pw.post, "a neuron or generator population (not poisson)")
    if pw.target in ("dendrite", "gate") and post.model != "l5_pyramidal":
        raise SpecError(f"pathways.{name}.target", pw.target,
                        f"'soma' (population {pw.post!r} has no dendrite / coupling gate)")
    if pw.target == "gate" and post.cell_params().kappa_mode != "state":
        raise SpecError(f"pathways.{name}.target", pw.target,
                        f"a target other than 'gate', or populations.{pw.post}.params.kappa_mode = 'state'")
    if "CURRENT" in pw.receptors and len(pw.receptors) > 1:
        raise SpecError(f"pathways.{name}.receptors", dict(pw.receptors),
                        "either CURRENT alone (voltage-jump synapse) or conductance receptors")
    if pw.delay_steps == 0 and pre.spike_detection != "next_step":
        raise SpecError(f"pathways.{name}.delay_steps", 0,
                        f"an integer >= 1 (0 needs populations.{pw.pre}.spike_detection = 'next_step')")
    c = pw.connectivity
    if c.rule == "one_to_one" and pre.n != post.n:
        raise SpecError(f"pathways.{name}.connectivity.rule", c.rule,
                        f"a rule other than one_to_one (sizes differ: {pre.n} vs {post.n})")
    if c.rule == "fixed_outdegree":
        avail = post.n - (1 if (pw.pre == pw.post and not c.autapses) else 0)
        if c.outdegree > avail:
            raise SpecError(f"pathways.{name}.connectivity.outdegree", c.outdegree,
                            f"an integer <= {avail} (distinct targets available)")
    if pw.delay_max_steps and pw.delay_max_steps < pw.delay_steps:
        raise SpecError(f"pathways.{name}.delay_max_steps", pw.delay_max_steps,
                        f"0 or an integer >= delay_steps ({pw.delay_steps})")
    if c.rule == "pocket":
        small, big = sorted((pre.n, post.n))
        k = c.pocket(pre.n, post.n)
        if c.pocket_fraction and k < 1:
            raise SpecError(f"pathways.{name}.connectivity.pocket_fraction", c.pocket_fraction,
                            f"a fraction >= {small / big:.3g} (pockets of at least one neuron: {small} "
                            f"pockets in {big} neurons)")
        if small * k > big:
            raise SpecError(f"pathways.{name}.connectivity.pocket_size", c.pocket_size,
                            f"an integer <= {big // small} ({small} pockets in {big} neurons)")
    if c.n_ref and c.probability(pre.n) > 1.0:
        q = "p" if c.rule == "fixed_prob" else "p0"
        raise SpecError(f"pathways.{name}.connectivity.n_ref", c.n_ref,
                        f"a reference size with {q} n_ref / n_pre <= 1 ({q} = {getattr(c, q)}, population "
                        f"{pw.pre!r} has {pre.n} neurons: {c.probability(pre.n):.3g}); a population this "
                        f"small cannot keep the reference in-degree")
    if pw.plasticity and pw.plasticity not in plasticity:
        raise SpecError(f"pathways.{name}.plasticity", pw.plasticity,
                        f"a name in [plasticity]: {sorted(plasticity)}")
    if pw.plasticity and pw.target != "gate" and "CURRENT" not in pw.receptors:
        rule = plasticity[pw.plasticity]
        w_min = rule.get("w_min", 0.0) if isinstance(rule, dict) else 0.0
        if isinstance(w_min, (int, float)) and not isinstance(w_min, bool) and w_min < 0:
            raise SpecError(f"plasticity.{pw.plasticity}.w_min", w_min,
                            f"a bound >= 0 for a rule on conductance pathway {name!r} (learning must "
                            "not turn its conductance negative)")


def _check_input_targets(pops, inputs):
    """Each input reaches an existing neuron population, compartment and neurons."""
    for name, inp in inputs.items():
        if inp.population not in pops:
            raise SpecError(f"inputs.{name}.population", inp.population, f"a population name: {sorted(pops)}")
        pop = pops[inp.population]
        if pop.model in ("poisson", "generator"):
            raise SpecError(f"inputs.{name}.population", inp.population, f"a neuron population (not {pop.model})")
        if inp.compartment == "dendrite" and pop.model != "l5_pyramidal":
            raise SpecError(f"inputs.{name}.compartment", "dendrite",
                            f"'soma' (population {inp.population!r} has no dendrite)")
        for i in inp.neurons:
            if i >= pop.n:
                raise SpecError(f"inputs.{name}.neurons", i, f"an index < {pop.n}")
        if inp.kind == "poisson" and "CURRENT" in inp.receptors and len(inp.receptors) > 1:
            raise SpecError(f"inputs.{name}.receptors", dict(inp.receptors), "CURRENT alone or conductance receptors")


def _check_recording(meta, pops, paths, recording):
    """Recorded pathways, populations, neurons and intervals exist and fit."""
    if recording.weights is not None:
        for i, w in enumerate(recording.weights):
            if w not in paths or not paths[w].plasticity:
                raise SpecError(f"recording.weights[{i}]", w,
                                f"a plastic pathway: {sorted(n for n, pw in paths.items() if pw.plasticity)}")
    if recording.spikes is not None:
        for i, p in enumerate(recording.spikes):
            if p not in pops:
                raise SpecError(f"recording.spikes[{i}]", p, f"a population name: {sorted(pops)}")
    for p, tr in recording.traces.items():
        if p not in pops:
            raise SpecError(f"recording.traces.{p}", p, f"a population name: {sorted(pops)}")
        if pops[p].model in ("poisson", "generator"):
            raise SpecError(f"recording.traces.{p}", p, f"a neuron population ({pops[p].model} sources have no state)")
        for i in tr.neurons:
            if i >= pops[p].n:
                raise SpecError(f"recording.traces.{p}.neurons", i, f"an index < {pops[p].n}")
        if tr.interval_ms < meta.dt_ms:
            raise SpecError(f"recording.traces.{p}.interval_ms", tr.interval_ms, f"a number >= dt_ms ({meta.dt_ms})")
