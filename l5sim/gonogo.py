"""The Go/No-Go set-shifting case study (review arXiv 2501.06762, section 6, Fig. 3;
science.md section 9): a spiking actor-critic learns by trial and error which cue predicts
reward, with dopamine (the reward prediction error) as the third factor of R-STDP; midway
the contingency shifts; a contingency detector may trigger a phasic noradrenaline (NA)
transient that acts through the coupling gate of the L5 cells.

The review gives the design, not the numbers: every constant below is an l5sim choice,
named in :class:`Config` and documented there.

**Task** (:class:`GoNoGoTask`). Each trial presents one visual cue (A or B) and one
auditory cue (X or Y), each drawn with probability 1/2, as 40 Hz on that cue's 20 sources
(rest 2 Hz). Before trial ``shift_at`` the go cue is A (the visual dimension is relevant);
from it on, X (an extradimensional shift). Reward: Go with the go cue +1, Go without it -1
(a false alarm), No-Go 0. A choice is correct when it is Go exactly when the go cue is there.

**Agent.** Actor: the action is the group (Go or No-Go) with the higher net rate (mean E
rate minus mean I rate) over the stimulus phase (ties broken at random). Critic: value
V = (e - e_ref) / ``value_scale_hz``, clipped to [-1, 1], with e the critic's pyramidal
rate and e_ref its mean over the first ``value_reference_trials`` trials (V = 0 during
those): a linear readout of the critic's rate with a fixed offset, as the critic of
Fremaux, Sprekeler & Gerstner (2013, PLoS Comput Biol 9:e1003024). Not the critic's net
rate (the review's wording): in this circuit the basket cells' rate rises several times
faster than the pyramidal rate with the cue drive, so E minus I *falls* as the critic's
synapses strengthen (``scripts/gonogo_diagnostics.py``, critic_readout; the table in
docs/gonogo.md), and a value that
falls as R-STDP potentiates it makes every positive RPE larger (a runaway). RPE
delta = r - V; the outcome phase carries DA(t) = ``da_gain`` delta exp(-t / ``da_tau_ms``)
(Izhikevich 2007: DA decays with tau 200 ms), which every cue -> pyramidal synapse reads
(R-STDP, ``circuits/gonogo.toml``).

**Credit assignment: action-gated eligibility** (``credit = "action-gate"``, the default).
Go and No-Go receive the same cues, and with the balanced all-to-all window a synapse's
eligibility measures the causal timing of its pre and post spikes, not how much its group
won by; the losing group fires too, nearly as fast as the winner, so without a gate its
cue synapses are about as eligible as the winner's and dopamine moves both together (with
``credit = "none"`` the eligibility difference is not aligned with the choice:
``scripts/gonogo_diagnostics.py``, docs/gonogo.md). As in attention-gated reinforcement
learning (AGREL, Roelfsema & van Ooyen 2005, Neural Comput 17:2176: only the connections onto the selected
output unit are plastic, a feedback signal from the chosen action tagging them), at the
decision the eligibility of every plastic synapse onto the *unchosen* group's pyramidal
cells is cleared and their plasticity stays closed for the outcome phase
(:meth:`l5sim.session.Session.gate_plasticity`), so the dopamine of the outcome meets the
chosen group's eligibility only. We chose the gate over a winner-take-all actor with a
silent loser (Potjans, Morrison & Diesmann 2009, Neural Comput 21:301) because it needs no
re-tuning of the actor's inhibition (whose strength then decides how silent the loser is)
and states the mechanism in one place, and over a Hebbian post-rate term in the eligibility
(Fremaux & Gerstner 2016) because that needs a kernel change and an unbiased RPE, which our
critic gives only after it has learned. The gate acts between kernel chunks, on the
session's state arrays: no kernel change.

**Contingency detector** (NA). It compares expected and received reward: the unsigned
RPE |delta| is averaged fast (``det_fast_alpha``) and slowly (``det_slow_alpha``), both
starting at the first trial's |delta|; when
the fast average exceeds the slow one by ``det_threshold`` (after ``det_warmup`` trials and
``det_refractory`` trials after the last pulse) a phasic NA pulse starts: NA = amplitude
exp(-(k - k0) / ``na_tau_trials``) on trial k, constant within a trial, 0 before. NA acts
only through the circuit (preset ``coupling``: kappa + 0.5 per unit on every L5 population).

**Conditions**: ``da`` (NA never fires), ``da+na`` (the detector drives NA), ``na-random``
(one NA pulse at a trial drawn uniformly from [det_warmup, n_trials) for each seed,
the detector ignored), ``na-nocoupling`` (the detector drives NA, whose coupling gain is 0:
NA present, its only effect removed).
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from . import builder
from . import spec as _spec
from ._io import atomic_write
from .errors import SpecError
from .session import Session
from .trials import TrialLoop, dopamine_pulse, entropy_bits, net_rate_hz

CONDITIONS = ("da", "da+na", "na-random", "na-nocoupling")
#: Credit assignment of the actor (module docstring): ``action-gate`` (the unchosen group's
#: cue synapses lose their eligibility at the decision) or ``none`` (both groups keep it).
CREDIT = ("action-gate", "none")
CUES_VISUAL = ("A", "B")
CUES_AUDITORY = ("X", "Y")
#: Columns of the per-trial CSV.
#: Plastic pathways whose mean weight (nS) is written after each trial (``w_PATHWAY``).
WEIGHT_PATHS = tuple(f"{c}_{g}" for g in ("go", "nogo", "critic") for c in CUES_VISUAL + CUES_AUDITORY)
COLUMNS = ("trial", "visual", "auditory", "go_cue", "go_cue_present", "action", "correct", "reward", "value",
           "rpe", "da_peak", "na", "net_go_hz", "net_nogo_hz", "net_critic_hz", "critic_e_hz", "actor_burst_share") + tuple(
    f"w_{p}" for p in WEIGHT_PATHS)


@dataclass(frozen=True)
class Config:
    """Every number of the case study (ours; the review gives none).

    n_trials, shift_at : trials, and the first trial of the shifted contingency.
    stimulus_ms, outcome_ms : phases of one trial (1 s in all).
    cue_rate_hz : rate of a presented cue's sources (rest rates from the circuit).
    da_gain : DA per unit RPE at the outcome's onset; da_tau_ms : its decay (Izhikevich
        2007: 200 ms).
    value_scale_hz, value_reference_trials : the critic's readout (module docstring).
    det_fast_alpha, det_slow_alpha, det_threshold, det_warmup, det_refractory : the
        contingency detector (module docstring).
    na_amplitude, na_tau_trials : the NA pulse.
    criterion, window : performance criterion (share correct over the last ``window`` trials).
    entropy_window : trials with the go cue over which P(Go | go cue) is estimated.
    credit : credit assignment of the actor, one of :data:`CREDIT` (module docstring).
    """

    n_trials: int = 400
    shift_at: int = 200
    stimulus_ms: float = 500.0
    outcome_ms: float = 500.0
    cue_rate_hz: float = 40.0
    da_gain: float = 0.05
    da_tau_ms: float = 200.0
    value_scale_hz: float = 5.0
    value_reference_trials: int = 10
    det_fast_alpha: float = 0.2
    det_slow_alpha: float = 0.02
    det_threshold: float = 0.3
    det_warmup: int = 50
    det_refractory: int = 100
    na_amplitude: float = 1.0
    na_tau_trials: float = 10.0
    criterion: float = 0.8
    window: int = 20
    entropy_window: int = 10
    credit: str = "action-gate"

    def check(self) -> Config:
        if self.credit not in CREDIT:
            raise SpecError("credit", self.credit, f"one of {list(CREDIT)}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "credit":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SpecError(f.name, v, "a finite number")
        if self.n_trials < 1:
            raise SpecError("n_trials", self.n_trials, "at least 1 trial")
        if not 0 <= self.shift_at <= self.n_trials:
            raise SpecError("shift_at", self.shift_at, f"a trial in [0, n_trials = {self.n_trials}]")
        for name in ("stimulus_ms", "outcome_ms", "da_tau_ms", "value_scale_hz", "na_tau_trials"):
            if getattr(self, name) <= 0:
                raise SpecError(name, getattr(self, name), "a number > 0")
        for name in ("det_fast_alpha", "det_slow_alpha", "criterion"):
            if not 0 < getattr(self, name) <= 1:
                raise SpecError(name, getattr(self, name), "a number in (0, 1]")
        for name in ("window", "entropy_window", "value_reference_trials"):
            if getattr(self, name) < 1:
                raise SpecError(name, getattr(self, name), "at least 1 trial")
        return self


class GoNoGoTask:
    """Stimuli and rewards of the set-shifting Go/No-Go task (module docstring)."""

    populations = tuple(f"cue_{c}" for c in CUES_VISUAL + CUES_AUDITORY)

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def go_cue(self, k: int) -> str:
        return "A" if k < self.cfg.shift_at else "X"

    def stimulus(self, k: int, rng):
        vis = CUES_VISUAL[int(rng.integers(2))]
        aud = CUES_AUDITORY[int(rng.integers(2))]
        return vis, aud, {f"cue_{vis}": self.cfg.cue_rate_hz, f"cue_{aud}": self.cfg.cue_rate_hz}

    def reward(self, k: int, vis: str, aud: str, go: bool) -> float:
        present = self.go_cue(k) in (vis, aud)
        if not go:
            return 0.0
        return 1.0 if present else -1.0


ACTOR = {"go": ("go_e", "go_i"), "nogo": ("nogo_e", "nogo_i")}
CRITIC = ("critic_e", "critic_i")


def actor_plastic_pathways(built) -> dict:
    """``{"go": [...], "nogo": [...]}``: the plastic pathways onto each actor group's
    excitatory cells (the synapses whose eligibility the action gate clears)."""
    out = {}
    for a, (e, _) in ACTOR.items():
        out[a] = [n for n, pw in built.spec.pathways.items() if pw.post == e and pw.plasticity]
        if not out[a]:
            raise SpecError("pathways", e, f"at least one plastic pathway onto the actor group {e}")
    return out


def _overrides(condition: str, spec) -> dict:
    if condition == "na-nocoupling":
        return {f"modulators.NA.targets.{p}.kappa": 0.0 for p, pop in spec.populations.items()
                if pop.model == "l5_pyramidal"}
    return {}


def run_seed(circuit, seed: int, condition: str = "da+na", cfg: Config | None = None,
             overrides: dict | None = None) -> dict:
    """One seed of the task in one condition; returns ``{"trials": [row dicts], "summary":
    dict}``. ``circuit``: a path of the circuit file (``circuits/gonogo.toml``)."""
    cfg = (cfg or Config()).check()
    if condition not in CONDITIONS:
        raise SpecError("condition", condition, f"one of {list(CONDITIONS)}")
    base = _spec.load_circuit(circuit, overrides=overrides)
    for mod in ("DA", "NA"):
        if mod not in base.modulators:
            raise SpecError("modulators", mod, f"a modulator the circuit defines (it has {sorted(base.modulators)})")
    spec_ = _spec.load_circuit(circuit, overrides={**(overrides or {}), **_overrides(condition, base)})
    built = builder.build(spec_, seed)
    loop = TrialLoop(Session(built, seed=seed), cfg.stimulus_ms, cfg.outcome_ms)
    task = GoNoGoTask(cfg)
    loop.check_populations(task.populations, "stimulus population")
    loop.check_populations([p for g in ACTOR.values() for p in g] + list(CRITIC), "actor/critic population")
    plastic = actor_plastic_pathways(built)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    random_onset = int(rng.integers(min(cfg.det_warmup, cfg.n_trials - 1), cfg.n_trials))
    ref = []            # the critic's pyramidal rates of the first trials (its reference)
    fast = slow = None
    na_onset, last_pulse = None, -10 ** 9
    rows = []
    for k in range(cfg.n_trials):
        na = 0.0 if na_onset is None else cfg.na_amplitude * math.exp(-(k - na_onset) / cfg.na_tau_trials)
        levels = {"NA": na, "DA": 0.0}
        vis, aud, rates = task.stimulus(k, rng)
        act = loop.present(rates, levels)
        net = {a: net_rate_hz(act, e, i) for a, (e, i) in ACTOR.items()}
        go = net["go"] > net["nogo"] if net["go"] != net["nogo"] else bool(rng.integers(2))
        c = net_rate_hz(act, *CRITIC)
        e = act.rate_hz(CRITIC[0])
        if len(ref) < cfg.value_reference_trials:
            ref.append(e)
            value = 0.0
        else:
            value = float(np.clip((e - np.mean(ref)) / cfg.value_scale_hz, -1.0, 1.0))
        r = task.reward(k, vis, aud, go)
        rpe = r - value
        da = dopamine_pulse(rpe, cfg.da_gain, cfg.da_tau_ms, cfg.outcome_ms, loop.dt_ms)
        closed = plastic["nogo" if go else "go"] if cfg.credit == "action-gate" else []
        for p in closed:
            loop.session.gate_plasticity(p, False)
        loop.outcome({"DA": da, "NA": na})
        for p in closed:
            loop.session.gate_plasticity(p, True)
        # contingency detector: fast vs slow average of the unsigned RPE, both starting at the
        # first trial's value (a slow average starting at 0 would read the first trials as a change)
        if fast is None:
            fast = slow = abs(rpe)
        fast += cfg.det_fast_alpha * (abs(rpe) - fast)
        slow += cfg.det_slow_alpha * (abs(rpe) - slow)
        if condition in ("da+na", "na-nocoupling"):
            if k >= cfg.det_warmup and k - last_pulse >= cfg.det_refractory and fast - slow > cfg.det_threshold:
                na_onset = last_pulse = k + 1
        elif condition == "na-random" and k + 1 == random_onset:
            na_onset = last_pulse = k + 1
        present = task.go_cue(k) in (vis, aud)
        rows.append(dict(trial=k, visual=vis, auditory=aud, go_cue=task.go_cue(k), go_cue_present=int(present),
                         action="go" if go else "nogo", correct=int(go == present), reward=r, value=value, rpe=rpe,
                         da_peak=float(da[0]) if da.size else 0.0, na=na, net_go_hz=net["go"],
                         net_nogo_hz=net["nogo"], net_critic_hz=c, critic_e_hz=e,
                         actor_burst_share=act.burst_share(["go_e", "nogo_e"]),
                         **{f"w_{p}": float(loop.session.weights(p).mean()) for p in WEIGHT_PATHS}))
    return {"trials": rows, "summary": {**summarize(rows, cfg, seed, condition), "circuit_hash": base.hash}}


def performance(correct, window: int) -> np.ndarray:
    """Share of correct choices over the last ``window`` trials (fewer at the start)."""
    c = np.asarray(correct, float)
    cs = np.concatenate([[0.0], np.cumsum(c)])
    k = np.arange(1, c.size + 1)
    lo = np.maximum(0, k - window)
    return (cs[k] - cs[lo]) / (k - lo)


def conditioned_entropy(rows, window: int) -> np.ndarray:
    """H(A | go cue) per trial (bits): the entropy of the choice over the last ``window``
    trials that presented the go cue of their phase (nan before the first)."""
    out = np.full(len(rows), np.nan)
    hist = []
    for k, r in enumerate(rows):
        if r["go_cue_present"]:
            hist.append(1 if r["action"] == "go" else 0)
        if hist:
            out[k] = entropy_bits(float(np.mean(hist[-window:])))
    return out


def trials_to_criterion(perf: np.ndarray, start: int, criterion: float, window: int):
    """Trials after ``start`` until performance over a full window first reaches
    ``criterion`` (None if never)."""
    for k in range(start + window - 1, perf.size):
        if perf[k] >= criterion:
            return int(k - start + 1)
    return None


def summarize(rows, cfg: Config, seed: int, condition: str) -> dict:
    perf = performance([r["correct"] for r in rows], cfg.window)
    ent = conditioned_entropy(rows, cfg.entropy_window)
    s = cfg.shift_at
    pre = trials_to_criterion(perf, 0, cfg.criterion, cfg.window)
    post = trials_to_criterion(perf, s, cfg.criterion, cfg.window) if s < cfg.n_trials else None
    na = np.asarray([r["na"] for r in rows])
    onsets = [int(k) for k in np.flatnonzero((na > 0) & (np.concatenate([[0.0], na[:-1]]) == 0))]
    post_ent = ent[s:s + 50] if s < len(rows) else ent[:0]
    return {"seed": int(seed), "condition": condition, "config": asdict(cfg),
            "trials_to_criterion_before_shift": pre, "trials_to_criterion_after_shift": post,
            "readapted": post is not None,
            "performance_last_window_before_shift": float(perf[s - 1]) if s > 0 else None,
            "performance_final": float(perf[-1]),
            "entropy_peak_after_shift": float(np.nanmax(post_ent)) if np.isfinite(post_ent).any() else None,
            "entropy_before_shift": float(ent[s - 1]) if s > 0 and np.isfinite(ent[s - 1]) else None,
            "na_onsets": onsets,
            "actor_burst_share_mean": float(np.nanmean([r["actor_burst_share"] for r in rows]))}


# ---- files ----------------------------------------------------------------------------

def stem(condition: str, seed: int) -> str:
    return f"{condition.replace('+', '_')}_seed{seed}"


def write_seed(out_dir, result) -> None:
    """``DIR/trials_STEM.csv`` and ``DIR/summary_STEM.json`` (atomic; the summary last, so
    that a summary on disk means the seed is finished)."""
    out = Path(out_dir)
    sm = result["summary"]
    name = stem(sm["condition"], sm["seed"])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in result["trials"]:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write(out / f"trials_{name}.csv", lambda fh: fh.write(buf.getvalue().encode()))
    atomic_write(out / f"summary_{name}.json", lambda fh: fh.write(json.dumps(sm, indent=1).encode()))


def read_trials(path) -> list:
    """The rows of a per-trial CSV, numbers parsed."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    num = {"trial", "go_cue_present", "correct"}
    out = []
    for r in rows:
        d = {}
        for k, v in r.items():
            if k in num:
                d[k] = int(v)
            elif k in ("visual", "auditory", "go_cue", "action"):
                d[k] = v
            else:
                d[k] = float(v)
        out.append(d)
    return out


def _job(args):
    """One (condition, seed) in a worker: run it, write its files, return its summary."""
    circuit, seed, condition, cfg_dict, overrides, out_dir = args
    from .threads import set_worker_threads

    set_worker_threads()
    res = run_seed(circuit, seed, condition, Config(**cfg_dict), overrides)
    write_seed(out_dir, res)
    return res["summary"]


def finished_summary(out_dir, condition: str, seed: int, cfg: Config, circuit_hash: str):
    """The summary of a finished (condition, seed) in ``out_dir``, or None if it is not
    finished (no summary, or one that does not parse: a run killed while writing). A summary
    of another configuration or circuit is refused (SpecError), so that resuming never mixes
    runs of different settings."""
    path = Path(out_dir) / f"summary_{stem(condition, int(seed))}.json"
    try:
        sm = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if sm.get("config") != asdict(cfg) or sm.get("circuit_hash") != circuit_hash:
        raise SpecError("--out", str(out_dir), f"a directory without results of other settings ({path.name} was "
                        "written with another configuration or circuit; use another --out)")
    return sm


def run_many(circuit, seeds, conditions, cfg: Config, out_dir, workers: int = 1, overrides=None,
             progress=None, scheduler: str | None = None) -> list:
    """Every (condition, seed) not finished yet in ``out_dir`` on the sweep machinery's
    backends (:mod:`l5sim.sweep.backends`); returns the summaries of all, finished before
    or now, in (condition, seed) order.

    Resume: a (condition, seed) whose summary is in ``out_dir`` (written last and atomically,
    :func:`write_seed`) is not recomputed, so an interrupted run computes only the rest.
    ``out_dir`` is locked while this runs (:class:`l5sim.sweep.store.SweepLock`).

    scheduler : as ``l5sim sweep --scheduler``: "processes" (a local pool of ``workers``
        processes, spawn context, one thread each), "serial" (this process), "local" (a Dask
        ``LocalCluster`` of ``workers`` processes) or a Dask scheduler address
        (``tcp://HOST:8786``; workers must import the same l5sim and see ``out_dir``).
        Default: "processes" when ``workers`` > 1, else "serial". Results do not depend on
        it (each seed's streams come from its seed alone).
    """
    from .sweep.backends import DaskBackend, LocalPool, check_scheduler
    from .sweep.store import SweepLock

    cfg.check()
    for c in conditions:
        if c not in CONDITIONS:
            raise SpecError("condition", c, f"one of {list(CONDITIONS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecError("--workers", workers, "an integer >= 1")
    scheduler = scheduler or ("processes" if workers > 1 else "serial")
    check_scheduler(scheduler)
    base = _spec.load_circuit(circuit, overrides=overrides)      # bad circuit or --set: before any run
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = SweepLock(out)
    try:
        todo = [(str(circuit), int(s), c, asdict(cfg), dict(overrides or {}), str(out.resolve()))
                for c in conditions for s in seeds if finished_summary(out, c, s, cfg, base.hash) is None]
        if scheduler == "serial" or not todo:
            for t in todo:
                sm = _job(t)
                if progress:
                    progress(sm)
        else:
            backend = (LocalPool(min(workers, len(todo)), base.to_dict(), str(circuit)) if scheduler == "processes"
                       else DaskBackend(scheduler, workers))
            try:
                for fut in [backend.submit_call(_job, t) for t in todo]:
                    sm = fut.result()
                    if progress:
                        progress(sm)
            except BaseException:     # Ctrl-C or a failed seed: stop the workers, keep what is done
                backend.abort()
                raise
            backend.close()
        return [finished_summary(out, c, s, cfg, base.hash) for c in conditions for s in seeds]
    finally:
        lock.release()


def curves(results_by_condition: dict, cfg: Config) -> dict:
    """``{condition: {"performance", "na", "entropy": (seeds, trials)}}`` from
    ``{condition: [per-seed trial rows]}``, for :func:`l5sim.plotting.gonogo_curves`."""
    out = {}
    for cond, runs in results_by_condition.items():
        out[cond] = {"performance": np.array([performance([r["correct"] for r in rows], cfg.window) for rows in runs]),
                     "na": np.array([[r["na"] for r in rows] for rows in runs]),
                     "entropy": np.array([conditioned_entropy(rows, cfg.entropy_window) for rows in runs])}
    return out


def aggregate(summaries) -> dict:
    """Per condition: seeds, share that re-adapt, trials to criterion after the shift (mean,
    SD, median over the seeds that re-adapt), entropy peak after the shift (mean, SD)."""
    out = {}
    for s in summaries:
        out.setdefault(s["condition"], []).append(s)
    agg = {}
    for cond, ss in out.items():
        post = [s["trials_to_criterion_after_shift"] for s in ss if s["trials_to_criterion_after_shift"] is not None]
        pre = [s["trials_to_criterion_before_shift"] for s in ss if s["trials_to_criterion_before_shift"] is not None]
        ent = [s["entropy_peak_after_shift"] for s in ss if s["entropy_peak_after_shift"] is not None]
        agg[cond] = {
            "n_seeds": len(ss), "seeds": [s["seed"] for s in ss],
            "share_learned_before_shift": len(pre) / len(ss),
            "share_readapted": len(post) / len(ss),
            "trials_to_criterion_after_shift_mean": float(np.mean(post)) if post else None,
            "trials_to_criterion_after_shift_sd": float(np.std(post)) if post else None,
            "trials_to_criterion_after_shift_median": float(np.median(post)) if post else None,
            "performance_final_mean": float(np.mean([s["performance_final"] for s in ss])),
            "performance_final_sd": float(np.std([s["performance_final"] for s in ss])),
            "entropy_peak_after_shift_mean": float(np.mean(ent)) if ent else None,
            "entropy_peak_after_shift_sd": float(np.std(ent)) if ent else None,
            "actor_burst_share_mean": float(np.mean([s["actor_burst_share_mean"] for s in ss])),
            "na_pulses_per_seed": float(np.mean([len(s["na_onsets"]) for s in ss])),
        }
    return agg


#: A paired difference counts as an effect when its mean is more than this many standard
#: errors from 0 (about a two-sided 5 % test for n >= 10 seeds under a normal approximation).
EFFECT_SE = 2.0


def paired_difference(a: dict, b: dict) -> dict:
    """``a[seed] - b[seed]`` over the seeds both have: ``n``, ``mean``, ``sd`` (population
    SD of the differences), ``se`` (sd / sqrt(n)) and ``direction``: "higher" or "lower" when
    the mean is more than :data:`EFFECT_SE` standard errors from 0 (or the differences are
    all equal and not 0), else "no clear difference"."""
    seeds = sorted(set(a) & set(b))
    d = np.array([a[s] - b[s] for s in seeds], float)
    if d.size == 0:
        return {"n": 0, "mean": None, "sd": None, "se": None, "direction": "no clear difference"}
    mean, sd = float(d.mean()), float(d.std())
    se = sd / math.sqrt(d.size)
    direction = "no clear difference"
    if abs(mean) > EFFECT_SE * se and mean != 0:
        direction = "higher" if mean > 0 else "lower"
    return {"n": int(d.size), "mean": mean, "sd": sd, "se": se, "direction": direction}


def readapt_trials(summary: dict) -> int:
    """Trials after the shift to re-reach the criterion; a seed that never does counts as
    one more than the trials after the shift (censored: a lower bound of its true value)."""
    t = summary["trials_to_criterion_after_shift"]
    cfg = summary["config"]
    return int(t) if t is not None else int(cfg["n_trials"] - cfg["shift_at"] + 1)


def na_effect(summaries) -> dict:
    """Each condition against DA only, paired by seed (the same seed gives the same circuit,
    stimuli and, until NA first differs, the same spikes): ``{condition: {"faster": paired
    difference of trials to re-criterion, DA minus condition (> 0: faster with it),
    "entropy": condition minus DA of the entropy peak after the shift, "readapted": [share
    with it, share with DA], "verdict": "helps" | "hurts" | "no clear effect"}}``. The verdict
    reads only the re-adaptation time: "helps" when it is shorter by more than
    :data:`EFFECT_SE` standard errors, "hurts" when longer by as much."""
    by = {}
    for s in summaries:
        by.setdefault(s["condition"], {})[s["seed"]] = s
    if "da" not in by:
        raise SpecError("conditions", sorted(by), "results that include the condition 'da' (the reference)")
    da = by["da"]
    out = {}
    for cond, ss in by.items():
        if cond == "da":
            continue
        faster = paired_difference({k: readapt_trials(v) for k, v in da.items()},
                                   {k: readapt_trials(v) for k, v in ss.items()})
        ent = paired_difference({k: v["entropy_peak_after_shift"] for k, v in ss.items()
                                 if v["entropy_peak_after_shift"] is not None},
                                {k: v["entropy_peak_after_shift"] for k, v in da.items()
                                 if v["entropy_peak_after_shift"] is not None})
        verdict = {"higher": "helps", "lower": "hurts"}.get(faster["direction"], "no clear effect")
        out[cond] = {"faster": faster, "entropy": ent, "verdict": verdict,
                     "readapted": [float(np.mean([v["readapted"] for v in ss.values()])),
                                   float(np.mean([v["readapted"] for v in da.values()]))]}
    return out
