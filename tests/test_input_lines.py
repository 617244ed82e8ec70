"""Blocks without injected input skip reading the input arrays (records.mark_input_lines):
the inputs of a few neurons at line and block edges must still reach exactly those neurons."""
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
