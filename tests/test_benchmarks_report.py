"""The benchmark report: its arithmetic on inputs whose answer is known, its figure, and
docs/performance.md equal to the rendering of the committed results (no timing is
asserted anywhere: a benchmark is not a test)."""
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:   # benchmarks/ is a directory of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import column_check, make_doc  # noqa: E402
from benchmarks import run as R  # noqa: E402
from benchmarks import threads_bench  # noqa: E402


def _row(impl, threads, sims, dur=1000.0, status="ok"):
    return dict(implementation=impl, threads_requested=threads, status=status, simulate_s_min=min(sims),
                simulate_s_median=sorted(sims)[len(sims) // 2], duration_ms=dur, n_neurons=1000,
                n_synapses=10_000, loadavg_runs=[[1.0, 1.0, 1.0]])


def test_equal_threads_pairs_each_peer_with_l5sim_at_its_thread_count():
    rows = {"net": {("l5sim", 1): _row("l5sim", 1, [1.0, 2.0, 3.0]),
                    ("brian2_standalone", 1): _row("brian2_standalone", 1, [0.5, 0.5, 4.0]),
                    ("l5sim", 2): _row("l5sim", 2, [0.8, 0.9, 1.0]),
                    ("brian2_standalone", 2): _row("brian2_standalone", 2, [1.6, 1.8, 2.0]),
                    ("nest", 2): _row("nest", 2, [1.0], status="skipped")}}
    out = {(e["threads"], e["peer"]): e for e in R.equal_threads(rows)}
    assert set(out) == {(1, "brian2_standalone"), (2, "brian2_standalone")}   # skipped rows are left out
    assert out[(1, "brian2_standalone")]["ratio_min"] == pytest.approx(0.5)    # 0.5 / 1.0
    assert out[(1, "brian2_standalone")]["ratio_median"] == pytest.approx(0.25)  # 0.5 / 2.0
    assert out[(2, "brian2_standalone")]["ratio_min"] == pytest.approx(2.0)    # 1.6 / 0.8


def test_regime_check_labels_thread_counts_apart():
    rows = [dict(implementation="l5sim", threads_requested=1, status="ok", mean_rate_hz=10.0),
            dict(implementation="l5sim", threads_requested=2, status="ok", mean_rate_hz=10.0),
            dict(implementation="brian2_standalone", threads_requested=2, status="ok", mean_rate_hz=13.0)]
    reg = R.regime_check(rows)
    assert set(reg["rates_hz"]) == {"l5sim", "l5sim x2", "brian2_standalone x2"}
    assert reg["disagreeing"] == ["brian2_standalone x2"]        # 30 % off the median 10 Hz


def _run(pop_rates, burst):
    return dict(per_population={p: dict(rate_hz=r) for p, r in pop_rates.items()}, burst_share_pyr=burst)


def test_column_check_compares_seed_means_with_the_stated_tolerances():
    ok = {"l5sim": [_run({"pyr": 5.0, "th": 5.0}, 0.17), _run({"pyr": 5.2, "th": 4.0}, 0.19)],
          "brian2_standalone": [_run({"pyr": 5.15, "th": 6.0}, 0.20), _run({"pyr": 5.25, "th": 6.0}, 0.21)]}
    c = column_check.compare(ok)
    # pyr: means 5.1 and 5.2, 1.9 % apart; th (Poisson sources) is never a failure
    assert c["populations"]["pyr"]["rel_diff"] == pytest.approx(0.1 / 5.2)
    assert c["ok"] and c["burst_share_pyr"]["abs_diff"] == pytest.approx(0.025)
    bad = {"l5sim": ok["l5sim"], "brian2_standalone": [_run({"pyr": 6.0, "th": 5.0}, 0.30),
                                                       _run({"pyr": 6.0, "th": 5.0}, 0.30)]}
    c = column_check.compare(bad)
    assert not c["populations"]["pyr"]["ok"] and not c["burst_share_pyr"]["ok"] and not c["ok"]


def test_threads_bench_ratio_to_serial():
    runs = [dict(mode="serial", simulate_s=s, process_cpu_s=s, kernel=None, loadavg_at_start=[1, 1, 1])
            for s in (1.0, 1.2, 1.1)]
    runs += [dict(mode="default", simulate_s=s, process_cpu_s=s, kernel=None, loadavg_at_start=[1, 1, 1])
             for s in (1.3, 1.0, 1.2)]
    sm = threads_bench.summarize(runs)
    assert sm["default"]["ratio_to_serial_median"] == pytest.approx(1.2 / 1.1)
    assert sm["default"]["ratio_to_serial_min"] == pytest.approx(1.0)
    assert sm["default"]["within_criterion"] is True          # 1.09 <= 1.1
    assert "error" in sm["workqueue"]


def test_scaling_figure_draws_one_line_per_implementation_and_thread_count():
    from l5sim.plotting import performance as PP

    pts = [dict(implementation=i, threads=t, n_neurons=n, seconds_per_bio_s=s, median_per_bio_s=s * 1.1)
           for i, t in (("l5sim", 1), ("l5sim", 2), ("brian2_standalone", 1)) for n, s in ((1000, 0.1), (10000, 1.0))]
    fig = PP.scaling(pts, title="t")
    ax = fig.axes[0]
    labelled = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert len(labelled) == 3
    assert ax.get_xscale() == "log" and "biological second" in ax.get_ylabel()
    assert all(math.isclose(ln.get_xdata()[-1], 10000) for ln in labelled)


def test_performance_page_is_the_rendering_of_the_committed_results():
    page = (ROOT / "docs" / "performance.md").read_text()
    assert page == make_doc.render(figure=False), \
        "docs/performance.md differs from its rendering: run python -m benchmarks.make_doc"


def test_profile_column_ablations_still_match_the_l5_loop():
    # profile_column takes pieces out of the L5 loop by their source text: a change of the
    # loop that leaves a piece unmatched would stop the benchmark only when someone runs it
    from benchmarks import profile_column

    src = (ROOT / "l5sim" / "kernels" / "l5cell.py").read_text()
    missing = [(label, old) for label, subs in profile_column.ABLATIONS.items() for old, _ in subs if old not in src]
    assert not missing, f"profile_column.ABLATIONS no longer match l5cell.py: {missing}"
