"""The stability-gap harness on scikit-learn's digits and synthetic CIFAR files: a measured gap for
Adam, statistics named apart, a divergence check that fires both ways, outputs, CLI, devices."""
import argparse
import csv
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytestmark = pytest.mark.torch
# One torch thread: on a shared, loaded machine OpenMP threads spinning against each other made
# these tests 10x slower; results do not depend on the thread count beyond float rounding.
torch.set_num_threads(1)

from cifar_fixtures import write_cifar10, write_cifar100  # noqa: E402
from l5sim.ann.cli import register_fit, register_stability_gap  # noqa: E402
from l5sim.ann.harness import HarnessConfig, run_stability_gap, write_results  # noqa: E402
from l5sim.errors import L5SimError  # noqa: E402

# Small, fast version of the paper's protocol on digits (8x8, 1258 training images).
FAST = dict(data="digits", scenario="rotated", iters_per_task=100, batch_size=64,
            hidden=(100, 100), eval_every=1, device="cpu")
SEEDS = (0, 1, 2)
# A gap "exists" if task 1 loses at least 5% of its accuracy after a boundary on average over
# seeds, and the mean exceeds 2 standard errors of its seed spread.
MIN_GAP = 0.05


@pytest.fixture(scope="module")
def adam_rotated():
    return run_stability_gap(HarnessConfig(optimizers=("adam", "ngm-sgd"), seeds=SEEDS, **FAST))


def test_adam_shows_a_stability_gap_on_rotated_digits(adam_rotated):
    s = adam_rotated.metrics["summary"]["adam"]
    sg = s["paper_per_seed"]["avg_sg"]
    assert sg["n"] == len(SEEDS) and s["n_diverged"] == 0
    assert sg["mean"] > MIN_GAP, sg
    assert sg["mean"] > 2 * sg["std"] / math.sqrt(sg["n"]), sg
    # the network did learn: the gap is a drop from a high level, not noise around chance
    assert s["task1_final_acc"]["mean"] > 0.8, s["task1_final_acc"]
    # the worst case is below the final accuracy in De Lange's family too
    assert s["delange_per_seed"]["min_acc"]["mean"] < s["mean_final_acc"]["mean"]


def test_statistics_are_named_apart_and_recomputed_independently(adam_rotated):
    res = adam_rotated
    s = res.metrics["summary"]["adam"]
    runs = [r for r in res.runs if r.optimizer == "adam"]
    T, blocks = len(res.task_names), res.eval_block
    # the paper's avg-SG on the seed-averaged task-1 curve, from its definition
    mean_curve = np.mean([r.acc[:, 0] for r in runs], axis=0)
    sgs = []
    for k in range(T - 1):
        fin = mean_curve[np.flatnonzero(blocks == k)[-1]]
        sgs.append((fin - mean_curve[blocks == k + 1].min()) / fin)
    assert s["paper_seed_mean_curve"]["avg_sg"] == pytest.approx(np.mean(sgs), rel=1e-12)
    # per-seed values: mean and sample sd (ddof = 1)
    per_seed = [m["paper"]["avg_sg"] for m in res.metrics["runs"] if m["optimizer"] == "adam"]
    assert s["paper_per_seed"]["avg_sg"]["std"] == pytest.approx(np.std(per_seed, ddof=1))
    # task-1 final accuracy and the mean over tasks, named apart
    t1 = np.mean([r.acc[-1, 0] for r in runs])
    mean_all = np.mean([r.acc[-1].mean() for r in runs])
    assert s["task1_final_acc"]["mean"] == pytest.approx(t1)
    assert s["mean_final_acc"]["mean"] == pytest.approx(mean_all)
    assert "ddof = 1" in res.metrics["metric_families"]["sd"]


def test_full_length_curves_and_per_seed_data(adam_rotated):
    r = adam_rotated.runs[0]
    # every task is evaluated from iteration 0 on (unseen rotations too)
    assert np.all(np.isfinite(r.acc))
    info = adam_rotated.data_info
    # digits: the split is drawn from the run seed, so the seeds' training statistics differ
    assert len({tuple(v["pixel_mean"]) for v in info.values()}) == len(SEEDS)


def test_runs_are_reproducible_and_paired(adam_rotated):
    again = run_stability_gap(HarnessConfig(optimizers=("adam",), seeds=SEEDS[:1], **FAST))
    a = [r for r in adam_rotated.runs if r.optimizer == "adam" and r.seed == SEEDS[0]][0]
    assert np.array_equal(again.runs[0].acc, a.acc, equal_nan=True)


def test_ngm_gain_rises_with_entropy_and_stays_finite(adam_rotated):
    r = [r for r in adam_rotated.runs if r.optimizer == "ngm-sgd"][0]
    assert not r.diverged and np.all(np.isfinite(r.mean_gain))
    assert r.mean_gain[0] == 1.0
    assert np.nanmax(r.mean_gain) > 1.5  # high entropy at the start drives the gain up


def test_outputs_written(adam_rotated, tmp_path):
    paths = write_results(adam_rotated, str(tmp_path), figure=True)
    with open(paths["curves"]) as fh:
        rows = list(csv.DictReader(fh))
    assert {r["optimizer"] for r in rows} == {"adam", "ngm-sgd"}
    n_evals = len(adam_rotated.eval_iteration)
    # full length: every task has a row at every evaluation of every run
    assert len(rows) == 2 * len(SEEDS) * n_evals * 3
    assert {r["trained"] for r in rows if r["iteration"] == "0"} == {"0"}
    doc = json.loads(open(paths["metrics"]).read())
    assert set(doc["summary"]) == {"adam", "ngm-sgd"}
    assert doc["resolved"]["normalize"] == "standardize"
    assert doc["resolved"]["data_seeding"] == "per-seed"
    assert doc["resolved"]["device"] == "cpu"
    assert "paper" in doc["metric_families"] and "delange" in doc["metric_families"]
    assert (tmp_path / "stability_gap.png").stat().st_size > 1000


def test_vector_figure_formats(adam_rotated, tmp_path):
    for fmt, magic in (("svg", b"<svg"), ("pdf", b"%PDF")):
        paths = write_results(adam_rotated, str(tmp_path / fmt), figure=True, curves=False, figure_format=fmt)
        assert paths["figure"].endswith(f"stability_gap.{fmt}")
        head = open(paths["figure"], "rb").read(4096)
        assert magic in head, (fmt, head[:60])
    with pytest.raises(ValueError, match="figure_format"):
        write_results(adam_rotated, str(tmp_path / "bad"), figure=True, curves=False, figure_format="jpg")


def test_figure_is_labelled_in_words(adam_rotated):
    import matplotlib

    matplotlib.use("Agg")
    from l5sim.plotting import plot_stability_gap

    fig = plot_stability_gap(adam_rotated)
    labels = [ax.get_ylabel() for ax in fig.axes] + [ax.get_xlabel() for ax in fig.axes]
    assert any("accuracy (fraction)" in t for t in labels)
    assert any("training iteration" in t for t in labels)
    title = fig._suptitle.get_text()
    assert "sd" in title and "ddof 1" in title
    legend = fig.axes[0].get_legend().get_texts()
    assert any(f"n = {len(SEEDS)}" in t.get_text() for t in legend)


# ---- divergence, both ways ------------------------------------------------------------------
DIV = dict(data="digits", scenario="split", iters_per_task=30, batch_size=32, hidden=(32, 32),
           device="cpu")


def test_divergence_by_nonfinite_loss_is_recorded_and_excluded():
    # eta = 1e20: at iteration 2 the gain is about 1e20 * ln 10 in every one of 3 layers, so the
    # logits overflow float32 (max 3.4e38) and the loss is NaN. Adam runs alongside, untouched.
    # (rotated: domain-incremental, so a learning network is above chance on a new task at once;
    # in split's 30-iteration blocks a network needs more iterations than that to predict the new
    # classes at all, which the at-chance check rightly flags)
    cfg = HarnessConfig(optimizers=("adam", "ngm-sgd"), seeds=(0, 1), eta=1e20,
                        **{**DIV, "scenario": "rotated"})
    res = run_stability_gap(cfg, log=lambda line: None)
    for r in res.runs:
        if r.optimizer == "ngm-sgd":
            assert r.diverged and r.diverged_reason == "nonfinite" and r.diverged_at == 2
        else:
            assert not r.diverged
    s = res.metrics["summary"]["ngm-sgd"]
    assert s["n_diverged"] == 2 and s["diverged_reasons"] == {"nonfinite": 2}
    assert s["paper_per_seed"]["avg_sg"]["n_nonfinite"] == 2
    assert math.isnan(s["paper_per_seed"]["avg_sg"]["mean"]) and s["paper_seed_mean_curve"] is None
    a = res.metrics["summary"]["adam"]
    assert a["n_diverged"] == 0 and a["paper_per_seed"]["avg_sg"]["n"] == 2


def test_divergence_at_chance_with_finite_loss_fires_after_the_patience():
    # lr = 1e-12: the weights never move and the network predicts nearly one class for every
    # image, so on split digits the mean accuracy over tasks 1 and 2 (classes 0-3, chance 0.25)
    # is 0 or about 0.25 while the loss stays finite (about ln 10); on task 1 alone (chance 0.5)
    # it is 0 or 1/2 too. From the first iteration the run is at chance with a flat loss, so it
    # must be stopped at iteration `patience` exactly, within task 1.
    patience = 7
    cfg = HarnessConfig(optimizers=("sgd",), seeds=(0, 1), lr=1e-12, diverge_patience=patience,
                        **DIV)
    lines = []
    res = run_stability_gap(cfg, log=lines.append)
    for r in res.runs:
        assert r.diverged and r.diverged_reason == "at_chance", r
        assert r.diverged_at == patience
        assert np.all(np.isfinite(r.train_loss[np.isfinite(r.train_loss)]))
        assert np.all(np.isnan(r.acc[patience + 1:]))
    assert sum("DIVERGED (at_chance)" in ln for ln in lines) == 2
    assert res.metrics["summary"]["sgd"]["diverged_reasons"] == {"at_chance": 2}
    # the same run with a learning optimizer does not fire
    ok = run_stability_gap(HarnessConfig(optimizers=("adam",), seeds=(0,),
                                         diverge_patience=patience, **{**DIV, "scenario": "rotated"}))
    assert not ok.runs[0].diverged


def test_progress_lines_every_n_iterations():
    lines = []
    run_stability_gap(HarnessConfig(optimizers=("ngm-sgd",), seeds=(0,), log_every=15, **DIV),
                      log=lines.append)
    assert len(lines) == 5 * 30 // 15
    assert "loss" in lines[0] and "acc per task [" in lines[0] and "mean gain" in lines[0]


def test_config_errors_name_the_field():
    with pytest.raises(L5SimError, match="optimizers: got 'rmsprop'"):
        HarnessConfig(optimizers=("rmsprop",)).validate()
    with pytest.raises(L5SimError, match="needs --bridge"):
        HarnessConfig(optimizers=("ngm-sgd-bridge",)).validate()
    with pytest.raises(L5SimError, match="normalize: got 'minmax'"):
        HarnessConfig(normalize="minmax").validate()
    with pytest.raises(L5SimError, match="scenario: got 'domain' with data 'digits'"):
        HarnessConfig(scenario="domain").validate()
    with pytest.raises(L5SimError, match="device: got 'tpu'"):
        HarnessConfig(device="tpu").validate()


def test_cli_registration_and_run(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="l5sim")
    sub = parser.add_subparsers()
    register_stability_gap(sub)
    register_fit(sub)
    args = parser.parse_args(["stability-gap", "--data", "digits", "--scenario", "split",
                              "--optimizers", "sgd,adam", "--seeds", "1", "--iters-per-task", "10",
                              "--diverge-patience", "100",
                              "--hidden", "20,20", "--batch-size", "32", "--no-progress",
                              "--normalize", "none", "--device", "cpu", "--log-every", "25",
                              "--no-figure", "--out", str(tmp_path)])
    assert args.func(args) == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["config"]["seeds"] == [42] and len(doc["tasks"]) == 5
    assert doc["config"]["normalize"] == "none"
    out = capsys.readouterr()
    assert "avg-SG seed-mean curve" in out.out and "task-1 final acc" in out.out
    assert "mean final acc" in out.out and "ddof 1" in out.out
    assert out.err.count("acc per task") == 4  # 2 runs of 50 iterations, a line every 25


def test_markdown_table_has_both_families(adam_rotated):
    from l5sim.ann.harness import metrics_table_markdown

    table = metrics_table_markdown(adam_rotated.metrics)
    lines = table.strip().splitlines()
    assert len(lines) == 2 + 2  # header, rule, adam, ngm-sgd
    assert "seed-mean curve (paper)" in lines[0] and "De Lange min-ACC" in lines[0]
    s = adam_rotated.metrics["summary"]["adam"]
    assert f"{s['paper_seed_mean_curve']['avg_sg']:.3f} | {s['paper_per_seed']['avg_sg']['mean']:.3f}" in lines[2]


# ---- CIFAR, end to end on synthetic binary files, on CPU -------------------------------------
# 2 iterations per task learn nothing, so the at-chance check is set beyond the run's length:
# these tests check the path end to end, not learning. nf 4 instead of 20 (cost ~ nf^2) keeps
# the ResNet cheap on a loaded CPU; the nf-20 network's shape is checked without training.
CIFAR_FAST = dict(iters_per_task=2, batch_size=4, eval_every=1, device="cpu",
                  optimizers=("ngm-sgd",), seeds=(0,), diverge_patience=100, resnet_nf=4,
                  eval_all_tasks=False)


def test_split_cifar10_end_to_end_on_synthetic_binary_files(tmp_path):
    d = tmp_path / "cifar-10-batches-bin"
    write_cifar10(d)
    cfg = HarnessConfig(data="cifar10", scenario="split", data_dir=str(d), **CIFAR_FAST)
    res = run_stability_gap(cfg)
    assert cfg.resolved_model() == "resnet18" and cfg.resolved_eta() == 0.2
    assert HarnessConfig(data="cifar10", scenario="split").resolved_batch() == 256
    assert len(res.task_names) == 5 and all(not r.diverged for r in res.runs)
    ngm = [r for r in res.runs if r.optimizer == "ngm-sgd"][0]
    # the gain is on the head only: 10 output units share the drive, so it rises above g0 = 1
    assert ngm.mean_gain[-1] > 1.0
    paths = write_results(res, str(tmp_path / "out"), figure=False)
    doc = json.loads(open(paths["metrics"]).read())
    assert doc["resolved"]["model"] == "resnet18" and doc["resolved"]["batch_size"] == 4


def test_domain_cifar100_end_to_end_and_gain_on_the_head_only(tmp_path):
    from l5sim.ann.resnet import SlimResNet18

    d = tmp_path / "cifar-100-binary"
    write_cifar100(d)
    cfg = HarnessConfig(data="cifar100", scenario="domain", data_dir=str(d), **CIFAR_FAST)
    res = run_stability_gap(cfg)
    assert res.task_names == ["super0", "super1", "super2"] and cfg.resolved_eta() == 0.1
    # seen tasks only: task k is evaluated from its own block on
    acc = res.runs[0].acc
    assert all(np.all(np.isfinite(acc[res.eval_block >= k, k])) for k in range(3))
    net = SlimResNet18(n_classes=100)
    assert [g.shape for g in net.gains()] == [torch.Size([100])]
    assert net.feature_size == 160  # nf 20 -> 160 channels after the last stage (GEM)
    assert not net.head.bias.requires_grad


def _tiny_run(device):
    cfg = HarnessConfig(optimizers=("sgd", "ngm-sgd"), seeds=(0,), device=device, **{
        **DIV, "iters_per_task": 20, "device": device})
    return run_stability_gap(cfg)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device "
                    "(torch.cuda.is_available() is False)")
def test_cuda_run_matches_cpu_within_tolerance():
    cpu, gpu = _tiny_run("cpu"), _tiny_run("cuda")
    assert gpu.device.startswith("cuda")
    for a, b in zip(cpu.runs, gpu.runs):
        # Same initial weights (drawn on the CPU) and the same batches; float rounding on the GPU
        # may flip a few test images near the decision boundary: allow 3 % mean difference in
        # accuracy over the run and 1e-3 relative difference in the gain.
        assert np.nanmean(np.abs(a.acc - b.acc)) < 0.03, (a.optimizer, np.nanmean(np.abs(a.acc - b.acc)))
        assert np.allclose(a.mean_gain, b.mean_gain, rtol=1e-3), a.optimizer


def test_loss_criterion_of_the_at_chance_check():
    from l5sim.ann.training import _not_learning

    flat = [2.302] * 100
    falling = list(np.linspace(1.94, 1.60, 100))  # -17 %: slow but learning (plain SGD, digits)
    rising = list(np.linspace(2.3, 9.0, 100))     # blowing up with a finite loss
    plateau = list(np.linspace(2.3026, 2.285, 100))  # -0.8 %: plain SGD on its plateau
    assert _not_learning(flat, 0.001) and _not_learning(rising, 0.001)
    assert not _not_learning(falling, 0.001) and not _not_learning(plateau, 0.001)
    assert _not_learning(falling, 0.2)  # a 17 % fall is below a 20 % threshold


@pytest.mark.slow
def test_split_cifar10_with_the_papers_nf20_resnet_and_both_optimizer_kinds(tmp_path):
    d = tmp_path / "cifar-10-batches-bin"
    write_cifar10(d)
    cfg = HarnessConfig(data="cifar10", scenario="split", data_dir=str(d),
                        **{**CIFAR_FAST, "resnet_nf": 20, "optimizers": ("momentum-sgd", "ngm-sgd"),
                           "eval_all_tasks": True})
    res = run_stability_gap(cfg)
    assert all(np.all(np.isfinite(r.acc)) for r in res.runs)
    assert [r.mean_gain[-1] > 1.0 for r in res.runs] == [False, True]
