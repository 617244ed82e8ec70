"""What the L5 and Izhikevich 2007 block loops no longer stream each step, and why that is safe:
blocks without injected input skip the input arrays (records.mark_input_lines), so the
inputs of a few neurons at line and block edges must still reach exactly those neurons; the
recovery parameters a and b are read once per block, so they must be one value per
population of these models."""
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim.kernels import records as R
from l5sim.spec import RecordingSpec, TraceSpec
from l5sim.spec.circuit import from_dict


def _circuit(model, n, neurons, compartment):
    pop = {"model": model, "n": n}
    if model == "l5_pyramidal":
        pop["init"] = {"v_mV": -65.0, "v_sd_mV": 0.0}
    return from_dict({
        "circuit": {"name": "input_lines", "dt_ms": 0.1},
        "populations": {"a": pop},
        "inputs": {"step": {"kind": "current", "population": "a", "compartment": compartment,
                            "amplitude_pA": 400.0, "start_ms": 2.0, "profile": "neurons", "neurons": neurons}},
    })


def test_mark_input_lines_marks_the_lines_of_neurons_with_input():
    ns = R.NeuronState(*([None] * len(R.NeuronState._fields)))
    N = 21
    ns = ns._replace(soma_bias=np.zeros(N), dend_bias=np.zeros(N), soma_noise_sd=np.zeros(N),
                     dend_noise_sd=np.zeros(N), input_lines=np.full(3, 7, np.uint8))
    ns.dend_bias[8] = -1.0          # line 1
    ns.soma_noise_sd[20] = 0.5      # line 2, the last (partial) line
    R.mark_input_lines(ns)
    assert ns.input_lines.tolist() == [0, 1, 1]
    ns.dend_bias[8] = 0.0
    R.mark_input_lines(ns)
    assert ns.input_lines.tolist() == [0, 0, 1]


@pytest.mark.parametrize("model, n, compartment", [("l5_pyramidal", 1100, "soma"), ("l5_pyramidal", 1100, "dendrite"),
                                                   ("izhikevich2007", 600, "soma")])
def test_inputs_at_line_and_block_edges_reach_their_neurons(model, n, compartment):
    # blocks: 512 L5 cells, 256 Izhikevich 2007 cells; lines of 8: the listed neurons sit on
    # both sides of line and block edges, alone in their lines and blocks
    neurons = [7, 8, 255, 256, 511, 512, 1023, 1099] if model == "l5_pyramidal" else [7, 8, 255, 256, 599]
    built = l5sim.build(_circuit(model, n, neurons, compartment), 1)
    var = "vd" if compartment == "dendrite" else "v"
    rec = l5sim.simulate(built, 30.0, parallel=False, progress=False, recording=RecordingSpec(
        traces={"a": TraceSpec(neurons=tuple(range(n)), variables=(var,), interval_ms=0.1)}))
    v = rec.traces["a"][var].T
    rest = np.setdiff1d(np.arange(n), neurons)
    # neurons without input: identical traces (same start, no noise, no synapses)
    assert np.all(v[rest] == v[rest[0]])
    # each neuron with input leaves the others' trace once the step starts
    for i in neurons:
        assert np.max(np.abs(v[i] - v[rest[0]])) > 1.0, f"neuron {i} did not get its input"


CIRCUITS = sorted((Path(__file__).resolve().parents[1] / "circuits").glob("*.toml"))


@pytest.mark.parametrize("path", CIRCUITS, ids=lambda p: p.stem)
def test_block_models_have_one_a_and_b_per_population(path):
    from l5sim.kernels.records import K_IZH07, K_L5

    spec = l5sim.load_circuit(path)
    if sum(p.n for p in spec.populations.values()) > 20000:
        pytest.skip("large circuit")
    nr = l5sim.build(spec, 1).net.neurons
    for p, kind in enumerate(nr.kind):
        if kind in (K_L5, K_IZH07):
            sl = slice(nr.pop_start[p], nr.pop_start[p + 1])
            assert np.all(nr.a[sl] == nr.a[sl.start]) and np.all(nr.b[sl] == nr.b[sl.start]), (path.stem, p)


def test_heterogeneous_a_b_only_for_izhikevich2003():
    from l5sim.errors import SpecError

    with pytest.raises(SpecError, match="heterogeneity"):
        from_dict({"circuit": {"name": "h", "dt_ms": 0.1},
                   "populations": {"a": {"model": "izhikevich2007", "n": 3, "heterogeneity": "izh2003_inh"}}})
