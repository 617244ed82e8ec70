"""Structure of every figure l5sim draws (not pixel hashes): axis labels in words with units,
legends off the data, every line visible, the error measure and n stated, vector output.

The figures are drawn from small synthetic results built here (no simulation), each with the
case that broke an earlier figure: coinciding STDP trajectories, a population of 3 cells next
to one of 400 in the raster, a key path as the varied parameter.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from l5sim import plotting  # noqa: E402
from l5sim.plotting import labels, style  # noqa: E402
from l5sim.recording import Recording  # noqa: E402

SEEDS = (0, 1, 2)
#: A dotted key path or a snake_case identifier: code, not words.
CODE = re.compile(r"[A-Za-z_]{2,}\.[A-Za-z_]{2,}|\b[a-z]+_[a-z_]+\b")
UNIT = re.compile(r"\(.+\)")


# ----------------------------------------------------------------------------- structural checks
def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _is_colorbar(ax) -> bool:
    return ax.get_label() == "<colorbar>"


def _categorical(ticklabels) -> bool:
    """Tick labels that are words (a categorical axis): no unit is expected on it."""
    texts = [t.get_text().replace("\u2212", "-") for t in ticklabels if t.get_visible() and t.get_text()]
    return bool(texts) and not all(re.fullmatch(r"[-+0-9.eE x×^{}$\\mathrm]+", t) for t in texts)


def check_axis_labels(fig, r=None):
    """Every axis with visible ticks has a label in words, with its unit unless categorical."""
    r = r or _renderer(fig)
    problems = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        if _is_colorbar(ax):
            pairs = [(ax.get_ylabel() or ax.get_xlabel(), None)]
        else:
            pairs = [(ax.get_xlabel(), ax.get_xticklabels()), (ax.get_ylabel(), ax.get_yticklabels())]
        for text, ticks in pairs:
            if ticks is not None and not [t for t in ticks if t.get_visible() and t.get_text()]:
                continue                     # a shared axis whose tick labels are drawn on another panel
            ticks = ticks or []
            if not text.strip():
                problems.append(f"{ax.get_title()!r}: empty axis label")
            elif CODE.search(text):
                problems.append(f"{text!r} is code, not words")
            elif not UNIT.search(text) and not _categorical(ticks):
                problems.append(f"{text!r} has no unit in parentheses")
    assert not problems, problems


def _data_points(fig):
    """Display coordinates of every drawn data point (lines and scatter offsets)."""
    pts = []
    for ax in fig.axes:
        if _is_colorbar(ax):
            continue
        for line in ax.get_lines():
            xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
            xy = xy[np.all(np.isfinite(xy), axis=1)]
            if line.get_visible() and len(xy):
                pts.append(line.get_transform().transform(xy))
        for coll in ax.collections:
            offs = np.asarray(coll.get_offsets(), float)
            if coll.get_visible() and offs.ndim == 2 and len(offs):
                pts.append(coll.get_offset_transform().transform(offs))
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def _legends(fig):
    return [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)


def check_legends_off_data(fig, r=None):
    """No data point lies inside a legend, and no legend covers an axis or tick label."""
    r = r or _renderer(fig)
    pts = _data_points(fig)
    texts = []
    for ax in fig.axes:
        texts += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible() and t.get_text()]
        texts += [ax.xaxis.label, ax.yaxis.label]
    for leg in _legends(fig):
        box = leg.get_window_extent(r)
        inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
        assert not inside.any(), f"{inside.sum()} data points under the legend {leg.get_title().get_text()!r}"
        for t in texts:
            if t.get_text() and t.get_window_extent(r).overlaps(box):
                raise AssertionError(f"legend {leg.get_title().get_text()!r} covers the label {t.get_text()!r}")


def _drawn_ticklabels(ax):
    """Tick labels matplotlib draws: visible, non-empty, at a tick inside the view limits."""
    out = []
    for axis, k in ((ax.xaxis, 0), (ax.yaxis, 1)):
        lo, hi = sorted(axis.get_view_interval())
        tol = 1e-9 * max(1.0, abs(hi - lo))
        out += [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()
                and lo - tol <= t.get_position()[k] <= hi + tol]
    return out


def check_texts_do_not_overlap(fig, r=None):
    """Titles, axis labels and tick labels of the whole figure do not overlap one another
    (e.g. population names on the raster, titles of neighbouring panels)."""
    r = r or _renderer(fig)
    texts = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += _drawn_ticklabels(ax)
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    boxes = [t.get_window_extent(r) for t in texts]
    clashes = [(texts[i].get_text(), texts[j].get_text()) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
               if boxes[i].overlaps(boxes[j])]
    assert not clashes, f"overlapping texts: {clashes[:5]}"


def _lines_image(fig, lines):
    """The lines alone, in drawing order, on a blank canvas of the figure's size (no text: fast)."""
    from matplotlib.backends.backend_agg import RendererAgg

    w, h = fig.canvas.get_width_height()
    r = RendererAgg(w, h, fig.dpi)
    for line in sorted(lines, key=lambda ln: ln.get_zorder()):       # stable: ties keep their order
        line.draw(r)
    return np.asarray(r.buffer_rgba()).copy()


def check_every_line_visible(fig, r=None):
    """Hiding any one drawn line changes the lines' image: no line is covered by other lines.

    Lines are drawn without antialiasing for the check, so that a line exactly under another
    of the same width changes no pixel (antialiased edges would blend and hide nothing)."""
    r = r or _renderer(fig)
    hidden = []
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if ln.get_visible() and len(np.atleast_1d(ln.get_xdata()))]
        for ln in lines:
            ln.set_antialiased(False)
        full = _lines_image(fig, lines)
        for ln in lines:
            if np.array_equal(_lines_image(fig, [x for x in lines if x is not ln]), full):
                hidden.append(ln.get_label())
    assert not hidden, f"lines hidden under others: {hidden}"


def check_legend_states_spread(fig, n: int):
    """Some legend or title of the figure states the error measure and n."""
    texts = [t.get_text() for leg in _legends(fig) for t in [leg.get_title(), *leg.get_texts()]]
    texts += [ax.get_title() for ax in fig.axes] + ([fig._suptitle.get_text()] if fig._suptitle else [])
    assert any(f"n = {n}" in t and ("SD" in t or "mean" in t) for t in texts), texts


def check_all(fig, n_seeds=None):
    fig.set_dpi(72)
    r = _renderer(fig)
    check_axis_labels(fig, r)
    check_legends_off_data(fig, r)
    check_texts_do_not_overlap(fig, r)
    check_every_line_visible(fig, r)
    if n_seeds:
        check_legend_states_spread(fig, n_seeds)


# --------------------------------------------------------------------------------- synthetic data
def _recording(rng):
    """Four populations, one of only 3 cells between two large ones, with burst-reset spikes."""
    sizes = {"pyr": 400, "th": 3, "som": 50, "pv": 40}
    start = np.concatenate([[0], np.cumsum(list(sizes.values()))])
    i, t = [], []
    for k, n in enumerate(sizes.values()):
        m = rng.poisson(5.0 * n)
        i.append(rng.integers(start[k], start[k + 1], m))
        t.append(rng.uniform(0, 1000.0, m))
    i, t = np.concatenate(i).astype(np.int32), np.concatenate(t)
    order = np.argsort(t)
    burst = (rng.random(len(t)) < 0.1).astype(np.uint8) * (i[order] < 400)
    ts = np.arange(0, 1000.0, 1.0)
    return Recording(spike_i=i[order], spike_t_ms=t[order], spike_burst=burst, pop_names=list(sizes),
                     pop_start=start.astype(np.int64), metadata={"duration_ms": 1000.0, "circuit_name": "synthetic"},
                     traces={"pyr": {"v": -65 + rng.normal(0, 3, (len(ts), 2)), "vd": -70 + rng.normal(0, 2, (len(ts), 2))}},
                     trace_t_ms={"pyr": ts}, trace_neurons={"pyr": np.array([0, 7])},
                     modulator_t_ms=ts, modulators={"NA": np.exp(-ts / 300.0)})


def _gain_result(rng):
    rows, curves = [], []
    for kv, na in enumerate((0.0, 0.5, 1.0)):
        for x in np.linspace(500, 1600, 8):
            for s in SEEDS:
                rate = max(0.0, (0.03 + 0.01 * kv) * (x - 600)) + rng.normal(0, 1)
                rows.append({"condition": f"NA.tonic={na:g}", "vary_value": na, "input_value": float(x), "seed": s,
                             "rate_hz": rate, "burst_reset_fraction": min(1.0, 0.1 * kv + 0.02 * rng.random())})
        curves.append({"condition": f"NA.tonic={na:g}", "slope_hz_per_pa": 0.03 + 0.01 * kv, "rheobase_pa": 600.0})
    return SimpleNamespace(rows=rows, curves=curves, input_key="inputs.soma_step.amplitude_pA",
                           vary_key="modulators.NA.tonic")


def _stdp_result():
    t = np.arange(0, 2200.0, 200.0)
    same = 0.5 + 0.06 * t / 1000.0
    weights = {"single": (t, same), "burst_dendrite": (t, 0.5 + 0.09 * t / 1000.0),
               "single_kappa0": (t, same.copy()), "burst_NA": (t, 0.5 + 0.09 * t / 1000.0)}
    rows = [{"condition": c, "seed": s, "dw_per_s": 0.06 + 0.03 * ("burst" in c) + 0.001 * s}
            for c in weights for s in SEEDS]
    summary = {c: {"dw_per_s_mean": float(np.mean([r["dw_per_s"] for r in rows if r["condition"] == c])),
                   "dw_per_s_sd": float(np.std([r["dw_per_s"] for r in rows if r["condition"] == c]))}
               for c in weights}
    return SimpleNamespace(rows=rows, summary=summary, weights=weights, metadata={})


def _column_stdp_result(rng):
    rows = []
    for c in ("control", "pulse"):
        for s in SEEDS:
            for k, t in enumerate(np.arange(100.0, 2100.0, 100.0)):
                rows.append({"condition": c, "seed": s, "t_end_ms": t, "mean_weight": 1.0 + 1e-3 * k * (1 + (c == "pulse")),
                             "burst_reset_share": 0.1 + 0.2 * (c == "pulse" and 1000 <= t <= 2000) + 0.01 * rng.random()})
    return SimpleNamespace(rows=rows, summary={"paired": {"window_ms": [1000.0, 2000.0]}},
                           metadata={"pathway": "ee", "population": "pyr", "bin_ms": 100.0})


def _neighbour_result(rng):
    pvs, soms, levels = [0.5, 1.0, 2.0], [0.0, 1.0, 2.0], np.linspace(-300, 700, 6)
    rows, summary = [], []
    for p in pvs:
        for s in soms:
            for seed in SEEDS:
                for x in levels:
                    rows.append({"distance_bin": "all", "pv_scale": p, "som_scale": s, "seed": seed, "input_pa": x,
                                 "rate_hz": max(0.0, 0.02 * (x + 100 * (1 - p))) + rng.normal(0, 0.3),
                                 "burst_reset_fraction": 0.1 * (2 - s) * rng.random()})
            summary.append({"distance_bin": "all", "pv_scale": p, "som_scale": s, "d_rheobase_pa": 100 * (p - 1),
                            "slope_ratio": 1.0 - 0.1 * (s - 1)})
    meta = {"reference": [1.0, 1.0], "input_values": list(levels), "seed": list(SEEDS), "pv_scales": pvs,
            "som_scales": soms, "group_size": 40, "group_drive_pA": 600.0}
    return SimpleNamespace(rows=rows, metadata=meta, summary=summary)


def _sweep_rows(rng):
    rows = []
    for a in (400.0, 800.0, 1200.0):
        for b in (0.0, 200.0):
            for s in SEEDS:
                rows.append({"run": f"{a}-{b}-{s}", "inputs.soma_step.amplitude_pA": a,
                             "inputs.dend_step.amplitude_pA": b, "seed": s, "status": "done",
                             "pyr.n_spikes": 10, "pyr.rate_hz": a / 100 + b / 50 + rng.normal(0, 0.5),
                             "pyr.isi_burst_excess": 0.1 * b / 200})
    return rows


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(12)


# -------------------------------------------------------------------------------------- figures
def test_raster_legend_outside_rates_below_and_no_overlapping_labels(rng):
    rec = _recording(rng)
    fig = plotting.raster(rec)
    check_all(fig)
    raster_ax, rate_ax = fig.axes
    assert rate_ax.get_position().y1 <= raster_ax.get_position().y0          # rates below the raster
    leg = raster_ax.get_legend()
    entries = [t.get_text() for t in leg.get_texts()]
    assert any(e.startswith("th: n = 3") for e in entries), entries         # the tiny population is named
    r = _renderer(fig)
    assert leg.get_window_extent(r).x0 >= raster_ax.get_window_extent(r).x1  # to the right of the data


@pytest.mark.parametrize("figure", ["raster_with_modulators", "traces", "weight_trajectories", "weight_histogram"])
def test_recording_figures(rng, figure):
    rec = _recording(rng)
    w = 0.5 + 0.01 * rng.random((20, 30)).cumsum(axis=0)
    fig = {"raster_with_modulators": lambda: plotting.raster_with_modulators(rec),
           "traces": lambda: plotting.traces(rec, "pyr", ("v", "vd")),
           "weight_trajectories": lambda: plotting.weight_trajectories(np.arange(20) * 100.0, w),
           "weight_histogram": lambda: plotting.weight_histogram(w[-1], label="final weights")}[figure]()
    check_all(fig)


def test_gain_curves_labels_in_words_and_spread_stated(rng):
    fig = plotting.gain_curves(_gain_result(rng))
    check_all(fig, n_seeds=len(SEEDS))
    assert fig.axes[0].get_xlabel() == "somatic step current (pA)"
    assert fig.axes[-1].get_legend().get_title().get_text().startswith("tonic noradrenaline (a.u.)")


def test_pulse_gain(rng):
    t = np.arange(-1000.0, 3000.0, 100.0)
    rows = [{"time_ms": x, "seed": s, "gain_hz_per_pa": 0.03 + 0.01 * np.exp(-max(x, 0) / 1000) * (x >= 0)
             + rng.normal(0, 0.002)} for x in t for s in SEEDS]
    res = SimpleNamespace(rows=rows)
    ts = sorted(set(t))
    res.mean_time_course = lambda: (np.array(ts), np.array([np.mean([r["gain_hz_per_pa"] for r in rows if
                                                                    r["time_ms"] == x]) for x in ts]),
                                    np.array([np.std([r["gain_hz_per_pa"] for r in rows if r["time_ms"] == x])
                                              for x in ts]))
    fig = plotting.pulse_gain(res, label="NA pulse 1.6")
    check_all(fig, n_seeds=len(SEEDS))


def test_stdp_coinciding_trajectories_all_visible():
    """"single" and "single_kappa0" have identical weights: both lines must still show."""
    fig = plotting.stdp_summary(_stdp_result())
    check_all(fig, n_seeds=len(SEEDS))
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label() in (labels.LABELS["stdp.single"],
                                                                          labels.LABELS["stdp.single_kappa0"])]
    assert len(lines) == 2
    a, b = lines
    assert (a.get_marker(), a.get_linestyle()) != (b.get_marker(), b.get_linestyle())
    assert "nS" in fig.axes[0].get_ylabel()


def test_column_stdp(rng):
    check_all(plotting.column_stdp(_column_stdp_result(rng)), n_seeds=len(SEEDS))


def test_neighbour_fi(rng):
    check_all(plotting.neighbour_fi(_neighbour_result(rng)), n_seeds=len(SEEDS))


@pytest.mark.parametrize("two_axes", [False, True])
def test_plot_sweep(rng, two_axes):
    rows = _sweep_rows(rng)
    y = "inputs.dend_step.amplitude_pA" if two_axes else None
    where = rows if two_axes else [r for r in rows if r["inputs.dend_step.amplitude_pA"] == 0.0]
    fixed = None if two_axes else {"inputs.dend_step.amplitude_pA": 0.0}
    fig = plotting.plot_sweep(where, "inputs.soma_step.amplitude_pA", y, stats=("rate_hz", "isi_burst_excess"),
                              title="sweep", fixed=fixed)
    check_all(fig, n_seeds=len(SEEDS))
    if fixed:
        assert fig.axes[0].get_title() == "sweep at dendritic step current (pA) = 0"


def test_column_scaling():
    table = {"n_total": [510, 2040, 8160], "populations": ["pyr", "pv"], "n_seeds": 3,
             "rates": {"pyr": {"mean": [5.0, 5.2, 5.1], "sd": [0.3, 0.2, 0.2]},
                       "pv": {"mean": [30.0, 31.0, 29.0], "sd": [2.0, 1.0, 1.5]}},
             "unscaled": {"n_total": 2040, "rates": {"pyr": 12.0, "pv": 60.0}}}
    check_all(plotting.column_scaling(table), n_seeds=3)


def test_fi_fits(tmp_path):
    from l5sim.ann.synthetic_curves import write_synthetic_gain_dir
    from l5sim.bridge import read_gain_dir
    from l5sim.fits import fit_gain_table

    write_synthetic_gain_dir(str(tmp_path), seeds=SEEDS)
    table = read_gain_dir(str(tmp_path))["table"]
    fig = plotting.fi_fits(table, fit_gain_table(table))
    check_all(fig)
    assert f"n = {len(SEEDS)} seeds" in fig.axes[0].get_legend().get_title().get_text()


# ------------------------------------------------------------------------------ labels and style
def _circuit_keys():
    import l5sim

    keys = set()
    from pathlib import Path

    def walk(d, prefix):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                keys.add(f"{prefix}{k}")

    for path in sorted(Path("circuits").glob("*.toml")):
        walk(l5sim.load_circuit(path).to_dict(), "")
    return sorted(k for k in keys if k.split(".")[0] in ("inputs", "modulators", "populations", "pathways"))


def test_every_numeric_key_of_the_bundled_circuits_has_a_label_in_words():
    keys = _circuit_keys()
    assert len(keys) > 50
    bad = {k: labels.label(k) for k in keys if CODE.search(labels.label(k)) or not UNIT.search(labels.label(k))}
    assert not bad, bad


def test_labels_of_the_issue():
    assert labels.label("inputs.soma_step.amplitude_pA") == "somatic step current (pA)"
    assert labels.label("modulators.NA.tonic") == "tonic noradrenaline (a.u.)"
    assert labels.label("pyr.rate_hz") == "pyramidal firing rate (Hz)"
    assert labels.spread_caption(5) == "mean ± SD over n = 5 seeds"


def _srgb_to_linear(c):
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(rgb_lin):
    """CIE L*a*b* (D65) of linear sRGB rows."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = rgb_lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])


#: Machado, Oliveira & Fernandes (2009), IEEE TVCG 15:1291, simulation matrices at severity 1.0
#: (linear RGB): protanopia, deuteranopia, tritanopia.
CVD = {"protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
       "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]],
       "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                      [0.004733, 0.691367, 0.303900]]}
#: Smallest CIE76 colour difference between two category colours, for every vision type. A
#: difference of ~2.3 is just noticeable side by side (Sharma, Digital Color Imaging Handbook,
#: 2003); thin lines and small markers need several times that, and 10 is the bound used here.
#: Measured: Okabe-Ito's first seven stay >= 16.1 (tritanopia, bluish green vs sky blue), while
#: matplotlib's tab10 falls to 4.6 (protanopia, orange vs green) and fails, so the check can fail.
MIN_DELTA_E = 10.0


def _min_delta_e(hexes, n):
    rgb = np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes[:n]])
    lin = _srgb_to_linear(rgb)
    out = {}
    for name, m in [("normal", np.eye(3))] + list(CVD.items()):
        lab = _lab(np.clip(lin @ np.asarray(m).T, 0, 1))
        d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
        out[name] = d[np.triu_indices(n, 1)].min()
    return out


def test_palette_stays_distinct_under_colour_vision_deficiencies():
    n = 7      # populations and conditions use the first seven (yellow, faint on white, is last)
    de = _min_delta_e(style.PALETTE, n)
    assert min(de.values()) > MIN_DELTA_E, de
    tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    assert min(_min_delta_e(tab10, n).values()) < MIN_DELTA_E     # the check can fail


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("pdf", b"%PDF"), ("png", b"\x89PNG")])
def test_save_figure_formats(tmp_path, rng, fmt, magic):
    fig = plotting.gain_curves(_gain_result(rng))
    path = tmp_path / f"gain.{fmt}"
    plotting.save_figure(fig, path)
    assert path.read_bytes()[:len(magic)] == magic
    assert [p.name for p in tmp_path.iterdir()] == [path.name]        # no temporary file left


def test_checks_catch_a_bad_figure():
    """The structural checks fail on the faults they look for."""
    plt = plotting.pyplot()
    fig, ax = plt.subplots()
    x = np.linspace(0, 1, 20)
    ax.plot(x, x, color="C0", label="a")
    ax.plot(x, x, color="C1", label="b")                  # exactly on top of "a"
    ax.set_xlabel("inputs.soma_step.amplitude_pA")
    ax.set_ylabel("rate")
    ax.legend(loc="center")                                # over the data
    for check in (check_axis_labels, check_legends_off_data, check_every_line_visible):
        with pytest.raises(AssertionError):
            check(fig)
    plt.close(fig)
