"""The neighbour experiment (l5sim.neighbours, ``l5sim neighbours``): PV and SOM inhibition
of the neighbours of a driven group in the column (issue 17, item 3; science.md 8.4).

Expected directions come from the cell's equations, not from an earlier run:

- A tonic GABA_A conductance g on the soma (reversal -75 mV) adds -g (v - E_GABA) to the
  somatic current. The rheobase of the Izhikevich soma at steady u = b (v - vr) is the
  saddle-node current I*(g) = max_v [-(k (v - vr)(v - vt) - b (v - vr) - g (v - E))], which
  rises with g by g (v* - E) > 0 (v* the saddle voltage, above E): more PV inhibition
  must move the neighbours' rheobase up. :func:`_rheobase` computes I*(g) in the test.
- A GABA_A conductance on the dendrite raises the dendritic DC plateau threshold (it adds
  g (v_d - E) to the current needed to hold v_d at the saddle node), so fewer plateaus and
  fewer burst resets: more SOM inhibition must lower the neighbours' burst-reset fraction.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from l5sim import neighbours as NB
from l5sim.errors import SpecError
from l5sim.models.l5pyramidal import LVPA
from l5sim.spec import load_circuit

try:
    import naive
except ImportError:  # pragma: no cover
    from tests import naive

COLUMN = Path(__file__).resolve().parents[1] / "circuits" / "l5_column.toml"
E_GABA = -75.0


def _rheobase(g_nS, p=LVPA):
    """Saddle-node rheobase (pA) of the L5 soma with a tonic conductance g_nS to E_GABA."""
    return naive.saddle_node_rheobase(g_nS, E_GABA, p)


def test_analytic_rheobase_rises_with_somatic_inhibition():
    """The independent expectation behind the PV test: dI*/dg = v* - E_GABA > 0."""
    r = [_rheobase(g) for g in (0.0, 5.0, 10.0, 20.0)]
    assert np.all(np.diff(r) > 0), r


def test_layout_puts_every_level_at_every_distance():
    group, probes, lvl = NB.layout(400, 40, 2, 11)
    assert len(group) == 40 and set(group).isdisjoint(probes)
    d = NB._ring_distance(probes, 400)
    for lo, hi in zip(NB.DISTANCE_EDGES[:-1], NB.DISTANCE_EDGES[1:]):
        inbin = (d >= lo) & (d < hi)
        assert set(lvl[inbin]) == set(range(11)), (lo, hi)


@pytest.fixture(scope="module")
def small_run():
    """PV x1 / x2 and SOM x0 / x2 on the shipped column, 5 levels, 3 seeds, 1 s."""
    spec = load_circuit(COLUMN)
    return NB.neighbour_fi(spec, pv_scales=(1.0, 2.0), som_scales=(0.0, 2.0),
                           input_values=(-200.0, 0.0, 200.0, 400.0, 600.0), seeds=(1, 2, 3),
                           duration_ms=1000.0, settle_ms=200.0, reference=(1.0, 0.0), parallel=False)


def test_more_pv_inhibition_raises_the_neighbours_rheobase(small_run):
    s = small_run.summary_of(2.0, 0.0)
    d, sd = s["d_rheobase_pa"], s["d_rheobase_pa_sd"]
    assert d > 0 and d > sd, f"rheobase shift with PV x2: {d:.0f} +- {sd:.0f} pA (3 seeds)"


def test_more_som_inhibition_lowers_the_neighbours_bursting(small_run):
    ref = small_run.summary_of(1.0, 0.0)
    som = small_run.summary_of(1.0, 2.0)
    assert som["burst_reset_fraction"] < 0.5 * ref["burst_reset_fraction"], (
        f"burst-reset fraction SOM x0 {ref['burst_reset_fraction']:.2f} +- {ref['burst_reset_fraction_sd']:.2f}, "
        f"SOM x2 {som['burst_reset_fraction']:.2f} +- {som['burst_reset_fraction_sd']:.2f} (3 seeds)")


def test_rows_curves_and_metadata(small_run):
    r = small_run
    assert len(r.rows) == 4 * 3 * 4 * 5          # conditions x seeds x (all + 3 bins) x levels
    assert len(r.curves) == 4 * 3 * 4
    assert {s["distance_bin"] for s in r.summary} == {"all", "0-1", "1-2", "2-3.1"}
    m = r.metadata
    assert m["experiment"] == "neighbours" and m["reference"] == [1.0, 0.0] and m["seed"] == [1, 2, 3]
    ref = r.summary_of(1.0, 0.0)
    assert ref["d_rheobase_pa"] == 0.0 and ref["slope_ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize("kw, field", [
    ({"input_values": (0.0, 100.0)}, "input_values"),
    ({"reference": (3.0, 3.0)}, "reference"),
    ({"pv_scales": (-1.0, 1.0)}, "pv_scales"),
    ({"pv_pathway": "nope"}, "pathway"),
    ({"group_size": 300}, "group_size"),
    ({"settle_ms": 5000.0}, "settle_ms"),
])
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(SpecError, match=field):
        NB.neighbour_fi(load_circuit(COLUMN), **kw)


def test_figure_draws_curves_and_maps(small_run):
    from l5sim.plotting import neighbour_fi
    fig = neighbour_fi(small_run)
    assert len(fig.axes) >= 5 and len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 2
    assert "pA" in fig.axes[0].get_xlabel()


def test_cli_writes_its_files(tmp_path):
    from l5sim.cli import main
    out = tmp_path / "nb"
    assert main(["neighbours", str(COLUMN), "--out", str(out), "--seeds", "1", "--pv-scales", "1,2",
                 "--som-scales", "1", "--levels", "0", "400", "3", "--duration", "400", "--settle", "100",
                 "--quiet"]) == 0
    for f in ("neighbour_rates.csv", "neighbour_curves.csv", "neighbour_summary.csv", "metadata.json",
              "neighbours.png"):
        assert (out / f).stat().st_size > 0, f
