"""The conductance channels a model's block loop is compiled for (engine.live_channels):
those a pathway or an input of the circuit delivers into, derived here from the circuit's
spec; leaving the others out of the sums and the decay changes no result."""
from pathlib import Path

import numpy as np

import l5sim
from l5sim.kernels import variants as E
from l5sim.kernels.records import K_IZH07, K_L5

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
RECEPTORS = ("AMPA", "NMDA", "GABA_A", "GABA_B")   # channel = 2 x receptor + compartment (soma 0, dendrite 1)


def _expected(spec, kinds_of):
    """{model kind: mask} from the spec's pathways and inputs, as the receptors' channel map
    (science.md; l5sim.models.synapses) gives them."""
    out = {}
    def add(pop, compartment, receptors):
        kind = kinds_of[pop]
        for r in receptors:
            if r in RECEPTORS:
                out[kind] = out.get(kind, 0) | 1 << (2 * RECEPTORS.index(r) + (compartment == "dendrite"))
    for pw in spec.pathways.values():
        if pw.target != "gate":
            add(pw.post, pw.target, pw.receptors)
    for inp in spec.inputs.values():
        if inp.kind == "poisson":
            add(inp.population, inp.compartment, inp.receptors)
    return out


def test_the_column_compiles_its_live_channels_only():
    built = l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml"), 1)
    kinds_of = {name: int(built.net.neurons.kind[k]) for k, name in enumerate(built.pop_names)}
    want = _expected(built.spec, kinds_of)
    live = E.live_channels(built.net)
    assert live[K_L5] == want[K_L5] and live[K_IZH07] == want[K_IZH07], (live, want)
    assert live[K_L5] != 0xFF and live[K_IZH07] != 0xFF       # the column leaves channels out
    kinds, plastic, masks = E.features(built.net)
    assert dict(masks) == {K_L5: live[K_L5], K_IZH07: live[K_IZH07]}
    # the compiled loops carry their masks in their names (numba's cache tells them apart by name)
    _, g = E._variant(kinds, plastic, masks, False)
    loop = g["_integrate_l5cell"]._slot.target       # (the loop the wrapper calls late-bound)
    assert f"_c{live[K_L5]:02x}" in loop.py_func.__name__


def test_a_channel_left_out_is_zero_all_run():
    # the channels the masks leave out never receive anything: their conductances stay 0
    built = l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml"), 2)
    from l5sim.session import Session

    s = Session(built, seed=2, chunk_ms=5.0)
    s.run(30.0)
    live = E.live_channels(built.net)
    g = s.st.synapses.g
    for kind, mask in live.items():
        rows = [c for c in range(8) if not mask >> c & 1]
        cells = built.net.neurons.kind[built.net.neurons.pop_of] == kind
        assert rows and not np.any(g[np.ix_(rows, np.nonzero(cells)[0])]), (kind, rows)
    assert np.any(g[0] != 0)
