"""Words and units for everything a figure names: circuit keys, statistics, trace variables,
protocol conditions, and the caption of an error measure.

One table, :data:`LABELS`, maps keys to axis labels ("somatic step current (pA)"); keys it
does not list are spelled out by :func:`label` from their parts (an input's name and field,
a modulator, a population parameter) with the unit read from the key's suffix (``_pA``,
``_ms``, ``_hz``, ...; units of l5sim: ms, mV, pF, nS, pA, Hz). A label therefore never shows a
dotted key path. ``l5sim.plotting.stability_gap`` and any other figure module import
:func:`label` and :func:`spread_caption` from here.
"""
from __future__ import annotations

#: Axis labels of keys (exact match first). Modulator levels are dimensionless model units.
LABELS = {
    # inputs of the bundled circuits
    "inputs.soma_step.amplitude_pA": "somatic step current (pA)",
    "inputs.dend_step.amplitude_pA": "dendritic step current (pA)",
    "inputs.dend_drive.amplitude_pA": "apical drive current (pA)",
    "inputs.noise.sigma_pA_sqrt_ms": "somatic noise strength (pA ms^1/2)",
    "inputs.pv_inh.weight": "PV-like somatic inhibition weight (nS)",
    "inputs.som_inh.weight": "SOM-like dendritic inhibition weight (nS)",
    # neuromodulators
    "modulators.NA.tonic": "tonic noradrenaline (a.u.)",
    "modulators.ACh.tonic": "tonic acetylcholine (a.u.)",
    # the L5 cell's coupling gate
    "populations.pyr.params.kappa": "coupling gate kappa of pyramidal cells (0-1)",
    "populations.pyr.params.kappa_rest": "resting coupling gate kappa of pyramidal cells (0-1)",
    "circuit.scale": "circuit scale factor (x)",
    # per-population statistics (l5sim.analysis.summarize)
    "rate_hz": "firing rate (Hz)",
    "cv_isi": "CV of inter-spike intervals (ratio)",
    "isi_burst_excess": "short-ISI excess over Poisson (0-1)",
    "spikes_per_isi_burst": "spikes per short-ISI burst (count)",
    "burst_reset_fraction": "share of spikes in burst reset (fraction)",
    "n_spikes": "spikes (count)",
    "n": "neurons (count)",
    # recorded state variables
    "traces.v": "somatic potential v (mV)",
    "traces.vd": "dendritic potential vd (mV)",
    "traces.u": "recovery variable u (model units)",
    "traces.burst": "burst-reset state (0/1)",
    "traces.kappa": "coupling gate kappa (0-1)",
    # the ANN side (l5sim.ann; l5sim.plotting.stability_gap)
    "ann.accuracy": "test accuracy (fraction)",
    "ann.iteration": "training iteration (count)",
    "ann.stability_gap": "accuracy drop after a task switch (fraction)",
    "ann.gain": "gain of a layer g (a.u.)",
    # conditions of the STDP-acceleration protocol (l5sim.experiments.STDP_CONDITIONS)
    "stdp.single": "single spikes (kappa 1, no apical drive)",
    "stdp.burst_dendrite": "bursts from apical drive",
    "stdp.single_kappa0": "apical drive, gate closed (kappa 0)",
    "stdp.burst_NA": "bursts from an NA pulse (gate closed)",
}

#: Words for names that occur inside keys (inputs, populations, modulators, parameters).
WORDS = {
    "soma_step": "somatic step", "dend_step": "dendritic step", "dend_drive": "apical drive",
    "soma_pulse": "somatic pulse", "soma_hold": "somatic hold", "bg_soma": "somatic background",
    "bg_pv": "PV background", "bg_som": "SOM background", "pv_inh": "PV-like inhibition",
    "som_inh": "SOM-like inhibition", "noise": "somatic noise", "thalamic_exc": "thalamic excitation",
    "thalamic_inh": "thalamic inhibition",
    "pyr": "pyramidal", "pv": "PV", "som": "SOM", "th": "thalamic", "exc": "excitatory", "inh": "inhibitory",
    "pre": "presynaptic",
    "NA": "noradrenaline", "ACh": "acetylcholine", "DA": "dopamine", "5HT": "serotonin",
    "kappa": "coupling gate kappa", "kappa_rest": "resting coupling gate kappa",
    "GABA_A": "GABA-A", "GABA_B": "GABA-B",
}

#: Unit suffixes of key names -> the unit in a label.
UNIT_SUFFIXES = (("_pA_sqrt_ms", "pA ms^1/2"), ("_pA", "pA"), ("_pa", "pA"), ("_nS", "nS"), ("_mV", "mV"),
                 ("_pF", "pF"),
                 ("_ms", "ms"), ("_hz", "Hz"), ("_Hz", "Hz"))

#: Fields of inputs and pathways without a unit suffix.
FIELD_WORDS = {"amplitude": ("current", "pA"), "weight": ("weight", "nS"), "p": ("connection probability", "0-1"),
               "tonic": ("tonic level", "a.u."), "n": ("neurons", "count")}


def words(name: str) -> str:
    """A name inside a key in words (``soma_step`` -> "somatic step"; else underscores as spaces)."""
    return WORDS.get(name, name.replace("_", " "))


def _split_unit(name: str):
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], unit
    word, unit = FIELD_WORDS.get(name, (None, None))
    return (word, unit) if word else (name, None)


def label(key: str) -> str:
    """Axis label in words with its unit for a circuit key, statistic or trace variable.

    ``POP.STAT`` (a sweep table column) reads "pyramidal firing rate (Hz)"; an input field
    "<input in words> <field> (<unit>)"; a modulator level "<tonic|...> <modulator> (a.u.)";
    a population parameter "<parameter> of <population> cells (<unit>)". The unit is "a.u."
    when the key carries none.
    """
    if key in LABELS:
        return LABELS[key]
    parts = key.split(".")
    if len(parts) == 2 and parts[1] in LABELS and parts[0] not in ("inputs", "modulators", "populations", "traces"):
        return f"{words(parts[0])} {LABELS[parts[1]]}"          # POP.STAT
    if parts[0] == "traces" and len(parts) == 2:
        return f"{words(parts[1])} (model units)"
    if parts[0] == "modulators" and len(parts) >= 3:
        return f"{words(parts[2])} {words(parts[1])} (a.u.)"
    if parts[0] in ("inputs", "pathways") and len(parts) == 4 and parts[2] == "receptors":
        return f"{parts[3].replace('_', '-')} share of the {words(parts[1])} weight (fraction)"
    if parts[0] == "inputs" and len(parts) >= 3:
        field, unit = _split_unit(parts[-1])
        field = {"amplitude": "current", "rate": "rate", "start": "onset", "stop": "offset"}.get(field, words(field))
        return f"{words(parts[1])} {field} ({unit or 'a.u.'})"
    if parts[0] == "populations" and len(parts) == 3 and parts[2] == "n":
        return f"{words(parts[1])} cells (count)"
    if parts[0] == "populations" and len(parts) >= 3:
        field, unit = _split_unit(parts[-1])
        if unit is None and parts[-1] in ("kappa", "kappa_rest"):
            unit = "0-1"
        return f"{words(field)} of {words(parts[1])} cells ({unit or 'a.u.'})"
    if parts[0] == "pathways" and len(parts) >= 3:
        field, unit = _split_unit(parts[-1])
        return f"{words(parts[1])} pathway {words(field)} ({unit or 'a.u.'})"
    field, unit = _split_unit(parts[-1])
    context = " ".join(words(p) for p in parts[:-1] if p not in ("params", "connectivity"))
    return f"{words(field)}{' of ' + context if context else ''} ({unit or 'a.u.'})"


def value_text(value) -> str:
    """A grid or condition value as legend text (numbers with ``g`` formatting)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:g}"


def spread_caption(n: int, measure: str = "SD", what: str = "seeds", centre: str = "mean") -> str:
    """"mean ± SD over n = 5 seeds": the error measure and the sample size of a figure."""
    return f"{centre} ± {measure} over n = {n} {what}" if n > 1 else f"one {what[:-1] if what.endswith('s') else what}"
