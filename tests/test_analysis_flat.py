"""The loop-free spike statistics used by ``summarize`` equal the per-train definitions."""
import numpy as np
import pytest

from l5sim import analysis as A


def _random_spikes(rng, n, n_spikes, dur):
    i = rng.integers(0, n, n_spikes)
    t = np.round(rng.uniform(0, dur, n_spikes), 1)     # 0.1 ms grid: ties and bursts happen
    # a few bursty neurons and a silent one, one with two spikes
    i = np.concatenate([i, np.full(6, 3), [5, 5]])
    t = np.concatenate([t, 100.0 + 4.0 * np.arange(6), [10.0, 50.0]])
    keep = i != 7
    return i[keep], t[keep]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_statistics_equal_the_per_train_ones(seed):
    rng = np.random.default_rng(seed)
    n = 40
    i, t = _random_spikes(rng, n, 2000, 1000.0)
    trains = A.split_trains(i, t, n)
    assert A.cv_isi_flat(i, t, n) == pytest.approx(A.cv_isi(trains), rel=1e-12)
    for max_isi in (16.0, 5.0):
        flat = A.isi_burst_stats_flat(i, t, max_isi)
        ref = _isi_burst_per_train(trains, max_isi)
        assert {k: flat[k] for k in ref} == pytest.approx(ref, rel=1e-12)


def _isi_burst_per_train(trains, max_isi_ms):
    """Slow, obviously correct per-train version of :func:`l5sim.analysis.isi_burst_stats_flat`."""
    n_obs = n_all = e_sum = 0.0
    sizes = []
    for tr in trains:
        tr = np.sort(np.asarray(tr))
        if tr.size < 3:
            continue
        isi = np.diff(tr)
        theta = min(max_isi_ms, isi.mean() / 2)
        rt = theta / isi.mean()
        for k in range(tr.size):
            left = k > 0 and isi[k - 1] < theta
            right = k < tr.size - 1 and isi[k] < theta
            n_obs += left or right
            e_sum += 1 - np.exp(-(2 if 0 < k < tr.size - 1 else 1) * rt)
        n_all += tr.size
        run = 0
        for d in isi:
            if d < theta:
                run += 1
            elif run:
                sizes.append(run + 1)
                run = 0
        if run:
            sizes.append(run + 1)
    obs, exp_ = n_obs / n_all, e_sum / n_all
    return {"observed": obs, "expected": exp_, "isi_burst_excess": max(0.0, (obs - exp_) / (1 - exp_)),
            "spikes_per_isi_burst": float(np.mean(sizes)), "n_bursts": len(sizes)}


def test_flat_statistics_of_known_trains():
    # a regular train has CV 0; a Poisson train has CV close to 1
    reg_t = np.arange(0.0, 1000.0, 20.0)
    assert A.cv_isi_flat(np.zeros(reg_t.size, int), reg_t, 1) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(3)
    pois = np.cumsum(rng.exponential(10.0, 20000))
    assert A.cv_isi_flat(np.zeros(pois.size, int), pois, 1) == pytest.approx(1.0, abs=0.03)
    # events: 3-spike burst, a single spike, a 2-spike burst (mean ISI 42 ms: theta 16 ms)
    t = np.array([0.0, 5.0, 10.0, 100.0, 200.0, 210.0])
    bs = A.isi_burst_stats_flat(np.zeros(6, int), t)
    assert (bs["n_bursts"], bs["spikes_per_isi_burst"], bs["observed"]) == (2, 2.5, 5 / 6)
    assert np.isnan(A.cv_isi_flat(np.zeros(2, int), np.array([1.0, 2.0]), 1))
    assert np.isnan(A.isi_burst_stats_flat(np.zeros(0, int), np.zeros(0))["isi_burst_excess"])
