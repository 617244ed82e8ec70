"""The README's primer figure (l5sim.plotting.primer): its structure, and the README's
numbers against the committed results they come from."""
import csv
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from l5sim.plotting.primer import PLATEAU_MV, burst_reset_primer

ROOT = Path(__file__).resolve().parents[1]
PRIMER_JSON = ROOT / "docs" / "results" / "primer" / "primer.json"


def _inputs(seed):
    """Two conditions with known spike counts and flags; f-I curves of 3 levels, n = 4."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 200.0, 0.5)
    traces, fi = {}, {}
    for k, label in enumerate(("coupling \u03ba = 0", "coupling \u03ba = 1")):
        st = np.sort(rng.uniform(10, 190, 6 + 3 * k))
        sb = (rng.random(st.size) < 0.5 * k).astype(int)
        traces[label] = {"t_ms": t, "v_mV": -70 + 5 * rng.standard_normal(t.size),
                         "vd_mV": -60 + 20 * k * np.sin(t / 30), "spike_t_ms": st, "spike_burst": sb}
        fi[label] = {"input_pA": [500, 1000, 1500], "rate_hz": [0, 10 + k, 20 + 3 * k], "spread_hz": [0, 1, 1], "n": 4}
    return traces, fi


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_primer_figure_structure(seed):
    traces, fi = _inputs(seed)
    fig = burst_reset_primer(traces, fi, fi_title="f-I curves, 400 pA dendritic step")
    fig.canvas.draw()
    *trace_axes, fi_ax = fig.axes
    assert len(trace_axes) == 2
    # labels in words with units
    assert trace_axes[-1].get_xlabel() == "time (ms)" and "(mV)" in trace_axes[0].get_ylabel()
    assert fi_ax.get_xlabel() == "somatic step current (pA)" and fi_ax.get_ylabel() == "firing rate (Hz)"
    for ax, (label, tr) in zip(trace_axes, traces.items()):
        n_burst = int(np.sum(tr["spike_burst"]))
        assert ax.get_title(loc="left") == f"{label}: {len(tr['spike_t_ms'])} spikes, {n_burst} with the burst reset"
        marks = {ln.get_label(): ln for ln in ax.get_lines()}
        # every spike is marked once, burst-reset ones apart; the threshold line sits at -30 mV
        assert len(marks["spike, burst reset"].get_xdata()) == n_burst
        assert len(marks["spike, regular reset"].get_xdata()) == len(tr["spike_t_ms"]) - n_burst
        assert marks["plateau threshold (-30 mV)"].get_ydata()[0] == PLATEAU_MV
        # the spike marks sit above both traces, inside the axes (visible, not on the data)
        y_marks = marks["spike, burst reset"].get_ydata() if n_burst else marks["spike, regular reset"].get_ydata()
        top = max(np.max(tr["v_mV"]), np.max(tr["vd_mV"]))
        assert np.all(y_marks > top) and np.all(y_marks < ax.get_ylim()[1])
    # the error measure and n are stated; one visible curve per condition, drawn in distinct colours
    texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for label in fi:
        assert f"{label} (mean +- SD over seeds, n = 4)" in texts, texts
    colours = {ln.get_color() for ln in fi_ax.get_lines() if len(ln.get_xdata()) == 3}
    assert len(colours) == len(fi)
    # legends lie outside every axes (never over the data)
    renderer = fig.canvas.get_renderer()
    for leg in fig.legends:
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            assert not _overlap(box, ax.get_window_extent(renderer)), (leg.get_texts()[0].get_text(), ax.get_title())
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_primer_rejects_empty_inputs():
    with pytest.raises(ValueError, match="traces and fi: got 0 and 1 conditions"):
        burst_reset_primer({}, {"a": {}})


def _script():
    s = importlib.util.spec_from_file_location("make_primer_figure", ROOT / "scripts" / "make_primer_figure.py")
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    return mod


def test_committed_primer_results_and_readme_agree_with_their_sources():
    data = json.loads(PRIMER_JSON.read_text())
    # the f-I panel is the committed gain run, recomputed
    assert data["fi"] == json.loads(json.dumps(_script().fi_from_gain_csv()))
    readme = (ROOT / "README.md").read_text()
    text = " ".join(readme.split())
    k0, k1 = data["traces"]["coupling \u03ba = 0"], data["traces"]["coupling \u03ba = 1"]
    m = re.search(r"kappa = 0 gives (\d+) spikes and no plateau in (\d+) ms, kappa = 1 gives (\d+) spikes, "
                  r"(\d+) of them burst-reset", text)
    assert m, "README primer sentence not found"
    assert (int(m.group(1)), int(m.group(3)), int(m.group(4))) == (
        len(k0["spike_t_ms"]), len(k1["spike_t_ms"]), sum(k1["spike_burst"]))
    assert k0["plateau_ms"] == 0 and sum(k0["spike_burst"]) == 0
    assert int(m.group(2)) == data["duration_ms"] - data["onset_ms"]
    # steepest local slope ratio kappa 1 / kappa 0, from the committed curves.csv
    with open(ROOT / "docs" / "results" / "gain_kappa" / "curves.csv", newline="") as fh:
        rows = {float(r["vary_value"]): float(r["max_local_slope_hz_per_pa"]) for r in csv.DictReader(fh)}
    ratio = rows[1.0] / rows[0.0]
    m = re.search(r"its steepest slope rises x(\d\.\d\d)", text)
    assert m and float(m.group(1)) == pytest.approx(ratio, abs=0.005), (m and m.group(1), ratio)
