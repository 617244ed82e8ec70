"""The records the kernels read and write: named structures of flat arrays, one per concern.

Every record is a namedtuple of NumPy arrays (numba passes them to compiled code as
tuples; no lists, dicts or classes reach a kernel). Parameters indexed by population hold
one entry per population, in population order (entries of populations of another model
are unused zeros); per-neuron arrays are indexed by the global neuron index.

``Net`` (read-only structure and parameters)
    ``neurons`` (:class:`Neurons`), one parameter record per model (``izh2003``,
    ``izh2007``, ``l5``, ``adex``, ``sources``), ``receptors``, ``synapses``,
    ``poisson_inputs``, ``plasticity``, ``modulation``, ``generators``, ``ziggurat``.
``State`` (what the kernels mutate)
    ``neurons`` (:class:`NeuronState`), ``synapses`` (:class:`SynapseState`),
    ``plasticity`` (:class:`PlasticityState`), ``modulation`` (:class:`ModulationState`).
``Recorder`` (recording buffers and what to record)
    spikes, traces and the divergence report.

The integer codes below are registry values kept in integer arrays (never in float
tables): model kinds (``Neurons.kind``), integration schemes (``Neurons.scheme``), the
coupling-gate mode of L5 cells, the U(v) form of 2007 cells, receptor channels and trace
variables.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

# ---- registries (names -> codes live in l5sim.builder: MODELS and SCHEMES)
#: Model kinds (``Neurons.kind``).
K_L5, K_IZH07, K_IZH03, K_POISSON, K_GEN, K_ADEX = 0, 1, 2, 3, 4, 5
#: Models whose population loops draw their targets' per-target Poisson drive block by
#: block (l5sim.kernels.drive; delivery.poisson_inputs leaves those inputs to them).
BLOCK_DRIVE_KINDS = (K_L5, K_IZH07)
#: Integration schemes (``Neurons.scheme``): forward Euler, semi-implicit in the
#: conductances, the published two half-steps of Izhikevich (2003).
I_EULER, I_SEMI, I_IZH03 = 0, 1, 2
#: Coupling-gate modes of L5 cells (``L5Params.gate``; l5sim.models.l5pyramidal): LVPA's two
#: Bernoulli draws every step, the graded deterministic gate, one draw per somatic spike.
G_PER_STEP, G_DETERMINISTIC, G_PER_SPIKE = 0, 1, 2
#: U(v) forms of 2007 cells (``Izh2007Params.u_mode``; mirrors l5sim.models.izhikevich.U_MODES).
U_LINEAR, U_CUBIC, U_BELOW, U_ABOVE = 0, 1, 2, 3
#: Receptors (mirrors l5sim.models.synapses); channel = 2 * receptor + compartment.
R_AMPA, R_NMDA, R_GABA_A, R_GABA_B, R_CURRENT, R_GATE = 0, 1, 2, 3, 4, 5
NCH = 12
#: Trace variables (``Recorder.trace_var``); T_G0 + channel: conductance of that channel.
(T_V, T_U, T_VD, T_WD, T_KAPPA, T_GAD, T_IBAP, T_BURST) = range(8)
T_G0 = 8
#: Columns of the modulated-parameter tables (``Modulation.base``, ``ModulationState.value``):
#: per population, the quantities a neuromodulator may move (offsets are 0 at baseline).
(M_KAPPA_OFFSET, M_DEND_DRIVE_PA, M_SOMA_DRIVE_PA, M_GCA_PA, M_RESET_V_OFFSET, M_RESET_U_OFFSET) = range(6)
N_MODULATED = 6
#: Neuromodulator target kinds (``Modulation.kind``). MOD_DOPAMINE: the level is the
#: third factor d of a reward-modulated rule (``Modulation.index`` = plastic index), read by
#: its deferred update (:func:`l5sim.kernels.stdp.deferred_updates`).
MOD_POPULATION, MOD_PATHWAY, MOD_LEARNING_RATE, MOD_DOPAMINE = 0, 1, 2, 3

#: Divergence bounds: a state beyond them (or NaN) stops the run with a DivergenceError.
#: They are far above any physiological value but below floating-point overflow: the 2003
#: model's v may legitimately reach ~1e4 within one 1 ms step under massive input before
#: it is reset, so the bound is not a spike threshold.
VMAX = 1.0e8
UMAX = 1.0e10

# ---- parameters and structure (Net)
Neurons = namedtuple("Neurons", [
    "pop_start",        # (n_pop + 1,) int64 first neuron of each population, then N
    "kind",             # (n_pop,) int32 model kind (K_*)
    "scheme",           # (n_pop,) int64 integration scheme (I_*)
    "detect_next_step",  # (n_pop,) uint8: 1 = threshold tested at the start of the next step
    "pop_of",           # (N,) int32 population of each neuron
    "a", "b", "c", "d",  # (N,) float64 Izhikevich a, b, reset c, jump d (units of the model)
])
Izh2003Params = namedtuple("Izh2003Params", [
    "vpeak_mV",         # spike cut-off (30 in the 2003 paper)
])
Izh2007Params = namedtuple("Izh2007Params", [
    "C_pF", "k_nS_per_mV", "vr_mV", "vt_mV", "vpeak_mV",
    "vpeak_u_mV_per_pA",  # slope of the cut-off in u
    "c_u_mV_per_pA",      # slope of the reset in u
    "u_max_pA",           # cap on u after a spike
    "u_mode",             # int64 U(v) form (l5sim.models.izhikevich.U_MODES)
    "vb_mV",              # switch voltage of the cubic / below / above U(v)
    "nmda_cap_nS",        # cap of the Mg-blocked NMDA conductance
    "reset_ceiling_mV",   # cut-off minus reset_margin_mV at u = 0 (the reset guard)
])
L5Params = namedtuple("L5Params", [
    "C_pF", "k_nS_per_mV", "vr_mV", "vt_mV", "vpeak_mV", "nmda_cap_nS",
    "c_burst_mV", "d_burst_pA",             # burst-mode reset
    "dg_adapt_nS", "decay_adapt", "E_adapt_mV",  # spike-triggered adaptation (decay per step)
    "Cd_pF", "EL_mV", "gL_nS", "Ehalf_mV", "D_mV", "tau_w_ms", "bd_nS",  # dendrite
    "plateau_mV", "bap_pA",
    "bap_start_steps", "bap_stop_steps",     # int64 bAP window after a somatic spike
    "kappa", "kappa_state",                  # fixed gate / uint8 1 = gate is a state variable
    "kappa_rest", "decay_kappa",
    "gate",                                  # int64 G_* mode
    "gs_pA", "G_nS",                         # dendrite -> soma current, coupling conductance
])
AdexParams = namedtuple("AdexParams", [
    "C_pF", "gL_nS", "EL_mV", "VT_mV", "DeltaT_mV", "a_nS", "tau_w_ms", "b_pA", "Vr_mV", "vpeak_mV", "nmda_cap_nS",
])
SourceParams = namedtuple("SourceParams", [
    "rate_hz",          # Poisson source rate
])
Receptors = namedtuple("Receptors", [
    "used",             # int64 channels any pathway or input uses
    "soma_conductance",  # int64 conductance channels on the soma
    "dend_conductance",  # int64 conductance channels on the dendrite
    "reversal_mV", "mg_block", "decay",     # (NCH,) E, uint8 Mg block, exp(-dt / tau)
])
Synapses = namedtuple("Synapses", [
    "row_ptr", "post", "weight", "delay",   # CSR: int64, int32 targets, float32, uint16 steps
    "path_row0", "path_pre0",               # first CSR row / first presynaptic neuron of each pathway
    "pop_path_ptr", "pop_paths",            # pathways by presynaptic population (CSR)
    "path_delay",                           # one delay for the pathway (steps), -1: per synapse
    "path_dense",                           # uint8: every row holds every target in order
    "path_rec_ptr", "path_rec_channel", "path_rec_scale",  # receptor channels of each pathway
    "blocks",                               # delivery blocks of target neurons (parallel kernel)
])
PoissonInputs = namedtuple("PoissonInputs", [
    "lo", "hi", "rate_hz", "t0", "t1", "ramp_steps", "shared",
    "w_ptr", "weight", "rec_ptr", "rec_channel", "rec_scale",
])
StdpRules = namedtuple("StdpRules", [
    "triplet", "nearest", "multiplicative", "deferred",    # uint8 flags
    "A_plus", "A_minus", "decay_plus", "decay_minus",
    "A2_plus", "A3_plus", "A2_minus", "A3_minus", "decay_x", "decay_y",
    "w_min", "w_max", "learning_rate",
    "interval_steps",                                      # int64, deferred timing
    "deferred_bias", "deferred_decay",
    "dopamine",                                            # uint8: w += (bias + d) sd (Izhikevich 2007)
])
Plasticity = namedtuple("Plasticity", [
    "rules",            # StdpRules, one entry per plastic pathway
    "path_plastic",     # per pathway: plastic index or -1
    "pre_lo", "post_lo", "pre_trace_off", "post_trace_off", "syn_lo", "syn_hi",
    "col_ptr", "col_off", "col_syn", "col_pre",  # per plastic pathway, CSC over post neurons
    "pop_post_ptr", "pop_post",                  # plastic pathways by post population
])
Modulation = namedtuple("Modulation", [
    "kind", "index", "column",   # per target: MOD_* kind, population/pathway/rule index, M_* column
    "base",                      # (n_pop, N_MODULATED) baseline values
])
Generators = namedtuple("Generators", ["step", "neuron"])    # scheduled spikes, sorted by step
Ziggurat = namedtuple("Ziggurat", ["k", "w", "f"])            # tables of l5sim.kernels.rng
Net = namedtuple("Net", ["dt", "neurons", "izh2003", "izh2007", "l5", "adex", "sources", "receptors", "synapses",
                         "poisson_inputs", "plasticity", "modulation", "generators", "ziggurat"])

#: Neurons per line of the delay ring's dirty marks (``SynapseState.ring_dirty``): 8 doubles,
#: one 64-byte cache line of a ring row. Every write into the ring marks its line; the L5
#: and PV/SOM loops read only marked lines of a slot (most of a slot is zeros: about 1 %
#: of the 10k column's entries per step), and the chunk loop clears a slot's marks once all
#: populations have read it.
RING_LINE = 8
#: log2 of RING_LINE: target j's line is j >> LINE_SHIFT.
LINE_SHIFT = RING_LINE.bit_length() - 1
if 1 << LINE_SHIFT != RING_LINE:
    raise ImportError(f"RING_LINE must be a power of two, not {RING_LINE}")

#: Targets per tile of the event lists (``SynapseState.events_*``): delivery appends each
#: arrival to the list of its slot and its target's tile (j >> EVENT_TILE_SHIFT); the parallel
#: delivery's blocks of targets are whole tiles, so that one thread appends to a list.
EVENT_TILE_SHIFT = 8
EVENT_TILE = 1 << EVENT_TILE_SHIFT
#: Bits of an event's code that hold its channel (code = target within its tile << EVENT_CH_BITS
#: | channel, l5sim.kernels.events).
EVENT_CH_BITS = 4
if NCH > 1 << EVENT_CH_BITS or EVENT_TILE % RING_LINE:
    raise ImportError("event codes need NCH <= 2**EVENT_CH_BITS and tiles of whole ring lines")

#: A population loop with fewer blocks than this runs its blocks serially even in the
#: parallel kernel: a parallel region costs about 8 us here (numba's OpenMP layer with a
#: passive wait policy, l5sim.threads), more than 8 blocks of PV cells take (6 us).
PARALLEL_MIN_BLOCKS = 8

# ---- state (State)
NeuronState = namedtuple("NeuronState", [
    "v", "u",                     # soma (mV; pA, or the 2003 model's units)
    "vd", "wd",                   # dendrite potential (mV) and its recovery current (pA)
    "g_adapt", "kappa", "burst",  # adaptation conductance, coupling gate, burst-reset flag
    "spike_history",              # uint64 shift register of the last 64 steps' spikes
    "bap_current",                # the bAP current that entered the dendrite this step (pA)
    "soma_bias", "dend_bias", "soma_noise_sd", "dend_noise_sd",   # this segment's inputs (pA)
    "rng",                        # (2, N) uint64 one stream per neuron (kernels.rng)
    "flag", "diverged_value",     # per-neuron spike / divergence flags of a step
    "scratch",                    # (4, N) a step's intermediates of the L5 loop's passes
])
SynapseState = namedtuple("SynapseState", [
    "g",                # (NCH, N) conductances (nS)
    "now",              # (NCH, N) this step's arrivals, as the populations read them (l5sim.kernels.events)
    "now_dirty",        # (NCH, ceil(N / 8)) uint8: 1 where a line of 8 neurons of ``now`` may hold arrivals
    "events_off",       # (n_tiles + 1,) int64 where each tile's list starts in a slot's row (l5sim.kernels.events)
    "events_code",      # (max_delay + 1, events_off[-1]) uint16 pending arrivals: target within tile << 4 | channel
    "events_value",     # (max_delay + 1, events_off[-1]) their values (weight x receptor scale x gain)
    "events_count",     # (max_delay + 1, n_tiles) int64 entries in each list
    "spilled",          # (max_delay + 1, n_tiles) uint8: 1 where a list was spilled into the dense ring
    "ring",             # (max_delay + 1, NCH, N) spilled arrivals by step (dense)
    "ring_dirty",       # (max_delay + 1, NCH, ceil(N / 8)) uint8: 1 where a line of 8 neurons may hold arrivals
    "path_gain",        # per pathway, modulated transmission gain
    "input_rng",        # (2, n_inputs) streams of shared Poisson inputs
])
PlasticityState = namedtuple("PlasticityState", [
    "learning_rate", "pre_trace", "pre_trace_slow", "post_trace", "post_trace_slow", "deferred_sum",
])
ModulationState = namedtuple("ModulationState", [
    "value",            # (n_pop, N_MODULATED) this step's modulated parameters
    "delta",            # (n_steps, n_targets) modulator gain x level for the chunk's steps
])
State = namedtuple("State", ["neurons", "synapses", "plasticity", "modulation", "generator_pos"])

# ---- recording
Recorder = namedtuple("Recorder", [
    "spike_mask",       # (N,) uint8: 1 = keep this neuron's spikes
    "spike_neuron", "spike_step", "spike_burst", "n_spikes",
    "trace_neuron", "trace_var", "trace_every", "trace_off", "trace_cap", "trace_count", "trace_buf",
    "diverged",         # (4,) neuron, step, variable code, value
])


def flat_arrays(record, prefix: str = "") -> dict:
    """``{dotted.name: array}`` of every array in a (nested) record, for tests and reports."""
    out = {}
    for name, value in record._asdict().items():
        if isinstance(value, np.ndarray):
            out[prefix + name] = value
        elif hasattr(value, "_asdict"):
            out.update(flat_arrays(value, f"{prefix}{name}."))
    return out


def shared_arrays(state) -> list:
    """Pairs of ``State`` arrays that share memory (``[]`` for every state
    ``l5sim.simulation.initial_state`` makes). Kernels compiled with ``noalias``
    (:data:`l5sim._numba_config.NOALIAS`) assume none does: two names for one buffer would
    make their vectorised loops read stale values."""
    arrays = list(flat_arrays(state).items())
    return [(a, b) for k, (a, x) in enumerate(arrays) for b, y in arrays[k + 1:] if np.may_share_memory(x, y)]
