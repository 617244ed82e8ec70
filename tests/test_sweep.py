"""Parameter sweeps (l5sim.sweep): the same table whatever executes it, resume after SIGKILL
of the parent or of a worker without recomputing or reading half-written files, failed runs
recorded with their message, bad grids refused before any run, and the storage contract."""
from __future__ import annotations

import ast
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import l5sim
from l5sim import sweep as S
from l5sim.cli import main as cli_main
from l5sim.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]
CELL = str(ROOT / "circuits" / "l5_cell.toml")
COLUMN = str(ROOT / "circuits" / "l5_column.toml")
SOMA = "inputs.soma_step.amplitude_pA"
DEND = "inputs.dend_step.amplitude_pA"
BG = "inputs.bg_soma.rate_hz"          # l5_column background drive to the pyramidal somata
#: Seconds to wait for a subprocess sweep to reach a state (generous: a cold Numba cache
#: compiles the kernels once, which takes tens of seconds on a slow machine).
WAIT_S = 120.0
#: Poll interval (s) when watching run files appear.
POLL_S = 0.02
#: Columns that describe execution (time, worker pid, attempts), not results: they may differ
#: between schedulers; every other column must be identical.
EXEC = set(S.EXECUTION_COLUMNS)


def _science(rows):
    return [{k: v for k, v in r.items() if k not in EXEC} for r in rows]


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _small_grid():
    return [f"{SOMA}=500:1100:4", f"{DEND}=0,300"]


# ------------------------------------------------------------------------------ same table
@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return S.run_sweep(CELL, _small_grid(), seeds=3, duration_ms=400.0, out=out, scheduler="serial")


def test_serial_sweep_table(serial_sweep):
    res = serial_sweep
    assert (res.n_runs, res.n_done, res.n_failed, res.n_missing) == (24, 24, 0, 0)
    assert res.final_line() == "24 runs: 24 done, 0 failed"
    rows = _csv_rows(res.table)
    assert len(rows) == 24
    assert list(rows[0])[:6] == ["run", SOMA, DEND, "seed", "status", "error"]
    assert "pyr.rate_hz" in rows[0] and "pyr.isi_burst_excess" in rows[0]
    assert "pyr.burst_reset_fraction" in rows[0]
    # sorted by axis values then seed, every combination present once
    keys = [(float(r[SOMA]), float(r[DEND]), int(r["seed"])) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == 24
    # the stronger somatic step never fires less (mean over seeds and dendritic levels)
    by_amp = {}
    for r in rows:
        by_amp.setdefault(float(r[SOMA]), []).append(float(r["pyr.rate_hz"]))
    means = [sum(v) / len(v) for _, v in sorted(by_amp.items())]
    assert means[-1] > means[0]
    # one spec -> the same numbers as a direct simulation (the sweep adds nothing to the model)
    r0 = res.rows[0]
    spec = l5sim.load_circuit(CELL, overrides={SOMA: r0[SOMA], DEND: r0[DEND]})
    direct = l5sim.simulate(l5sim.build(spec, seed=r0["seed"]), 400.0, seed=r0["seed"], progress=False).summary()
    assert r0["pyr.n_spikes"] == direct["populations"]["pyr"]["n_spikes"]
    assert r0["circuit_hash"] == spec.hash


def test_pool_gives_the_same_table(serial_sweep, tmp_path):
    res = S.run_sweep(CELL, _small_grid(), seeds=3, duration_ms=400.0, out=tmp_path, workers=2, batch_size=5,
                      scheduler="processes")
    assert res.ok and res.n_batches == 5
    assert _science(res.rows) == _science(serial_sweep.rows)
    recs = [S.read_run(p) for p in (tmp_path / "runs").glob("*.json")]
    # kernels warmed once per worker process, never per task; at most 2 processes ran
    assert {r["warmups"] for r in recs} == {1}
    assert len({r["worker"] for r in recs}) <= 2
    assert {r["threads"] for r in recs} == {1}       # processes, each on one Numba thread


@pytest.mark.dask
def test_dask_local_cluster_gives_the_same_table(serial_sweep, tmp_path, capsys):
    pytest.importorskip("distributed")
    rc = cli_main(["sweep", CELL, "--grid", _small_grid()[0], "--grid", _small_grid()[1], "--seeds", "3",
                   "--duration", "400", "--out", str(tmp_path), "--scheduler", "local", "--workers", "2",
                   "--batch-size", "6", "--no-progress"])
    assert rc == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "24 runs: 24 done, 0 failed"
    _, rows, _ = S.load_results(tmp_path)
    assert _science(rows) == _science(serial_sweep.rows)
    recs = [S.read_run(p) for p in (tmp_path / "runs").glob("*.json")]
    assert {r["warmups"] for r in recs} == {1} and {r["threads"] for r in recs} == {1}
    # the CSV files agree too, apart from execution columns
    a = [{k: v for k, v in r.items() if k not in EXEC} for r in _csv_rows(tmp_path / "results.csv")]
    b = [{k: v for k, v in r.items() if k not in EXEC} for r in _csv_rows(serial_sweep.table)]
    assert a == b


@pytest.mark.dask
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL to a Dask worker")
def test_dask_scheduler_address_survives_a_killed_worker(tmp_path):
    """--scheduler tcp://...: a Dask worker killed in the middle loses no finished run and no
    run file is written twice; the nanny restarts it and the sweep completes."""
    distributed = pytest.importorskip("distributed")
    import logging

    out = tmp_path / "sw"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        cmd = [sys.executable, "-m", "l5sim", "sweep", COLUMN, "--grid", f"{BG}=1600:3200:10", "--seeds", "2",
               "--duration", "150", "--out", str(out), "--scheduler", cluster.scheduler_address,
               "--batch-size", "2", "--no-progress"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for_runs(out, 4, proc)
        victim = next(iter(cluster.workers.values())).process.process.pid
        os.kill(victim, signal.SIGKILL)
        seen = {}
        while proc.poll() is None:
            for name, ident in _snapshot(out).items():
                assert seen.setdefault(name, ident) == ident, f"{name} was written twice"
            time.sleep(POLL_S)
        stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr.decode()[-3000:]
    assert stdout.decode().strip().splitlines()[-1] == "20 runs: 20 done, 0 failed"
    final = _snapshot(out)
    assert len(final) == 20 and all(final[n] == ident for n, ident in seen.items())
    recs = [S.read_run(out / "runs" / n) for n in final]
    assert len({r["worker"] for r in recs}) >= 3      # the restarted worker took over


# -------------------------------------------------------------------------- resume and kill
def _sweep_cmd(out, n_amp=12, extra=()):
    # l5_column runs of 150 ms take ~0.1-0.2 s each: long enough to be killed in the middle
    return [sys.executable, "-m", "l5sim", "sweep", COLUMN, "--grid", f"{BG}=1600:3200:{n_amp}", "--seeds", "2", "--duration", "150", "--out", str(out), "--workers", "2",
            "--batch-size", "2", "--no-progress", *extra]


def _wait_for_runs(out, n, proc):
    t0 = time.monotonic()
    while time.monotonic() - t0 < WAIT_S:
        files = list((out / "runs").glob("*.json")) if (out / "runs").exists() else []
        if len(files) >= n:
            return files
        if proc.poll() is not None:
            pytest.fail(f"sweep ended early (rc {proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
        time.sleep(POLL_S)
    proc.kill()
    pytest.fail(f"no {n} run files within {WAIT_S} s")


def _snapshot(out):
    """{file name: (inode, mtime_ns)}: a run file rewritten later gets a new inode."""
    snap = {}
    for p in (out / "runs").glob("*.json"):
        st = p.stat()
        snap[p.name] = (st.st_ino, st.st_mtime_ns)
    return snap


def _children(pid):
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                kids.append((int(d.name), cmd))
    return kids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")
def test_sigkill_parent_then_resume(tmp_path):
    out = tmp_path / "sw"
    proc = subprocess.Popen(_sweep_cmd(out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_runs(out, 4, proc)
    workers = [p for p, cmd in _children(proc.pid) if "resource_tracker" not in cmd]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)     # workers get SIGTERM from the kernel when their parent dies
    for p in workers:
        assert not Path(f"/proc/{p}").exists() or "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]
    before = _snapshot(out)
    n_total = 24
    assert 4 <= len(before) < n_total, "the sweep was not interrupted in the middle"
    # every run file that exists is complete (renamed into place whole)
    for name in before:
        rec = json.loads((out / "runs" / name).read_text())
        assert rec["status"] == "done" and rec["key"] + ".json" == name
    time.sleep(0.3)
    assert _snapshot(out) == before, "an orphaned worker kept writing after its parent was killed"
    # a half-written temporary file and a truncated run file left by a crash are never read
    (out / "runs" / ".deadbeef.json.1234abcd.tmp").write_text('{"format": "l5sim-sweep-run", "sta')
    victim = sorted(before)[0]
    (out / "runs" / victim).write_text('{"format": "l5sim-sweep-run", "status": "do')
    before.pop(victim)

    res = S.run_sweep(COLUMN, [f"{BG}=1600:3200:12"], seeds=2, duration_ms=150.0,
                      out=out, workers=2, batch_size=2)
    assert res.ok and res.n_done == n_total
    assert res.n_reused == len(before) and res.n_computed == n_total - len(before)
    after = _snapshot(out)
    assert len(after) == n_total
    for name, ident in before.items():
        assert after[name] == ident, f"{name} was written twice"
    assert not list((out / "runs").glob(".*.tmp")) and not list((out / ".inflight").glob("*"))
    rows = _csv_rows(out / "results.csv")
    assert len(rows) == n_total and {r["status"] for r in rows} == {"done"}
    # the sweep is deterministic: the recomputed (truncated) run equals a fresh one
    again = S.run_sweep(COLUMN, [f"{BG}=1600:3200:12"], seeds=2, duration_ms=150.0,
                        out=out, workers=2)
    assert again.n_computed == 0 and _snapshot(out) == after


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals to a subprocess")
def test_ctrl_c_writes_the_table_and_resumes(tmp_path):
    out = tmp_path / "sw"
    proc = subprocess.Popen(_sweep_cmd(out, n_amp=8), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_runs(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130
    assert "interrupted:" in err.decode() and "re-run the same command" in err.decode()
    before = _snapshot(out)
    rows = _csv_rows(out / "results.csv")        # the table of what finished is there
    assert len(rows) == len(before) < 16 and {r["run"] + ".json" for r in rows} == set(before)
    assert not list((out / ".inflight").glob("*"))      # Ctrl-C is not a worker that crashed
    res = S.run_sweep(COLUMN, [f"{BG}=1600:3200:8"], seeds=2, duration_ms=150.0, out=out, workers=2)
    assert res.ok and res.n_computed == 16 - len(before)
    assert all(_snapshot(out)[n] == ident for n, ident in before.items())
    assert {r["attempts"] for r in map(S.read_run, (out / "runs").glob("*.json"))} == {1}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")
def test_sigkill_worker_loses_nothing(tmp_path):
    out = tmp_path / "sw"
    proc = subprocess.Popen(_sweep_cmd(out, n_amp=10), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = {}
    _wait_for_runs(out, 3, proc)
    workers = [p for p, cmd in _children(proc.pid) if "resource_tracker" not in cmd and "spawn" in cmd]
    assert workers, _children(proc.pid)
    os.kill(workers[0], signal.SIGKILL)
    while proc.poll() is None:      # watch every run file as it appears: none is replaced
        for name, ident in _snapshot(out).items():
            assert seen.setdefault(name, ident) == ident, f"{name} was written twice"
        time.sleep(POLL_S)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr.decode()[-3000:]
    assert stdout.decode().strip().splitlines()[-1] == "20 runs: 20 done, 0 failed"
    final = _snapshot(out)
    assert all(final[n] == ident for n, ident in seen.items())
    recs = [S.read_run(out / "runs" / n) for n in final]
    # only the run in flight on the killed worker was attempted twice; the sibling that the pool
    # terminated on purpose dropped its attempt marker
    assert sum(r["attempts"] > 1 for r in recs) <= 1 and max(r["attempts"] for r in recs) <= 2
    assert len({r["worker"] for r in recs}) >= 3   # a fresh pool took over


def _inflight_runs(out):
    """[(pid, run key)] of the worker processes computing a run, from DIR/.inflight."""
    d, found = out / ".inflight", []
    for p in (d.iterdir() if d.is_dir() else ()):
        try:
            words = p.read_text().split()
        except OSError:
            continue
        if len(words) == 2:
            found.append((int(p.name.rsplit("-", 1)[1]), words[1]))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")
def test_run_that_keeps_killing_its_worker_is_recorded_failed(tmp_path):
    """A run during which the worker dies --max-attempts times (here: SIGKILL each time it is
    computed, standing in for a segfault or the OOM killer) is recorded as failed; the others
    complete, and --retry-failed computes it again later."""
    out = tmp_path / "sw"
    proc = subprocess.Popen(_sweep_cmd(out, n_amp=4, extra=("--max-attempts", "2")), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    poison, kills, killed, t0 = None, 0, set(), time.monotonic()
    while proc.poll() is None and kills < 2 and time.monotonic() - t0 < WAIT_S:
        for pid, key in _inflight_runs(out):
            if pid not in killed and (poison is None or key == poison):
                poison = key
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
                    killed.add(pid)
                except ProcessLookupError:
                    pass
                break
        time.sleep(0.002)
    stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert kills == 2, stderr.decode()[-2000:]
    assert proc.returncode == 1
    assert stdout.decode().strip().splitlines()[-1] == "8 runs: 7 done, 1 failed"
    rec = S.read_run(out / "runs" / f"{poison}.json")
    assert rec["status"] == "failed" and rec["error"].startswith("WorkerDied") and rec["attempts"] == 2
    res = S.run_sweep(COLUMN, [f"{BG}=1600:3200:4"], seeds=2, duration_ms=150.0, out=out, workers=2,
                      retry_failed=True)
    assert res.ok and res.n_computed == 1 and S.read_run(out / "runs" / f"{poison}.json")["attempts"] == 1


def test_resume_computes_nothing_and_extends(tmp_path):
    base = l5sim.load_circuit(CELL).inputs["soma_step"].amplitude_pA    # the file's own value
    a1, a2, a3 = base, base + 300.0, base + 600.0
    a = S.run_sweep(CELL, [f"{SOMA}={a1},{a2}"], seeds=2, duration_ms=200.0, out=tmp_path, scheduler="serial")
    b = S.run_sweep(CELL, [f"{SOMA}={a1},{a2}"], seeds=2, duration_ms=200.0, out=tmp_path, scheduler="serial")
    assert (a.n_computed, b.n_computed, b.n_reused) == (4, 0, 4)
    assert _science(a.rows) == _science(b.rows)
    # a new grid of the same circuit extends the sweep: only the new runs are computed
    c = S.run_sweep(CELL, [f"{SOMA}={a1},{a2},{a3}"], seeds=2, duration_ms=200.0, out=tmp_path, scheduler="serial")
    assert (c.n_computed, c.n_reused) == (2, 4) and len(c.rows) == 6
    d = S.run_sweep(CELL, [f"{DEND}=0,200"], seeds=1, duration_ms=200.0, out=tmp_path, scheduler="serial")
    assert len(d.columns) and SOMA in d.columns and DEND in d.columns
    # the dend=0 point of the new axis is the circuit itself at seed 0: a run shared with the first grid
    assert d.n_computed == 1 and len(d.rows) == 7
    filled = [r for r in d.rows if r[DEND] == 200]
    assert filled and filled[0][SOMA] == base          # the base value fills the other axis
    m = S.load_manifest(tmp_path)
    assert len(m["grids"]) == 3
    # a different duration (or circuit, or keep mode) is refused with a clear message
    with pytest.raises(S.SweepError, match="duration_ms"):
        S.run_sweep(CELL, [f"{SOMA}=600"], seeds=1, duration_ms=300.0, out=tmp_path, scheduler="serial")
    with pytest.raises(S.SweepError, match="circuit"):
        S.run_sweep(CELL, [f"{SOMA}=600"], seeds=1, duration_ms=200.0, out=tmp_path, scheduler="serial",
                    overrides={"populations.pyr.params.kappa": 0.5})


def test_directory_in_use_is_refused(tmp_path):
    from l5sim.sweep.store import SweepLock

    lock = SweepLock(tmp_path)
    try:
        with pytest.raises(S.SweepError, match="another l5sim sweep"):
            S.run_sweep(CELL, [f"{SOMA}=600"], seeds=1, duration_ms=100.0, out=tmp_path, scheduler="serial")
    finally:
        lock.release()


# ------------------------------------------------------------------------------ failed runs
def test_failed_run_is_recorded_and_others_complete(tmp_path, capsys):
    # 1e12 pA diverges (DivergenceError) at the step onset; 1200 pA is an ordinary run (above rheobase)
    rc = cli_main(["sweep", CELL, "--grid", f"{SOMA}=1200,1e12", "--seeds", "2", "--duration", "300",
                   "--out", str(tmp_path), "--workers", "2", "--batch-size", "1", "--no-progress"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 1
    assert out[-1] == "4 runs: 2 done, 2 failed"
    rows = _csv_rows(tmp_path / "results.csv")
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 2 and all(float(r[SOMA]) == 1e12 for r in failed)
    assert all(r["error"].startswith("DivergenceError: numerical divergence") for r in failed)
    assert all(r["pyr.rate_hz"] == "" for r in failed)
    assert all(r["status"] == "done" and float(r["pyr.rate_hz"]) > 0 for r in rows if float(r[SOMA]) == 1200)
    rec = S.read_run(tmp_path / "runs" / f"{failed[0]['run']}.json")
    assert rec["phase"] == "simulate" and "DivergenceError" in rec["traceback"]
    # failed runs are results: a re-run keeps them; --retry-failed computes them again
    again = S.run_sweep(CELL, [f"{SOMA}=1200,1e12"], seeds=2, duration_ms=300.0, out=tmp_path, scheduler="serial")
    assert again.n_computed == 0 and again.n_failed == 2 and not again.ok
    retry = S.run_sweep(CELL, [f"{SOMA}=1200,1e12"], seeds=2, duration_ms=300.0, out=tmp_path, scheduler="serial",
                        retry_failed=True)
    assert retry.n_computed == 2 and retry.n_failed == 2


# -------------------------------------------------------------------------------- bad grids
BAD_GRIDS = [
    ("populations.pyr.params.nope=1,2", "populations.pyr.params.nope", "parameter"),       # unknown key
    ("inputs.soma_stp.amplitude_pA=1,2", "inputs.soma_stp.amplitude_pA", "no table 'soma_stp'"),
    (f"{SOMA}=100:200:0", "--grid", "N >= 1"),                                             # empty range
    (f"{SOMA}=", "--grid", "at least one value"),                                           # no values
    (f"{SOMA}=a:b:3", "--grid", "numbers"),
    ("populations.pyr.n=a,b", "populations.pyr.n", "an integer"),                          # wrong type
    (f"{SOMA}=600,abc", SOMA, "a number"),                                                  # wrong type, 2nd value
    ("populations.pyr.n=1,-1", "populations.pyr.n", "grid point populations.pyr.n=-1"),    # out of range
    ("no_equals_sign", "--grid", "KEY=START:STOP:N"),
]


@pytest.mark.parametrize("grid,path,expected", BAD_GRIDS)
def test_bad_grid_fails_before_any_run(tmp_path, capsys, grid, path, expected):
    out = tmp_path / "sw"
    with pytest.raises(SpecError) as e:
        S.run_sweep(CELL, [grid], seeds=1, duration_ms=100.0, out=out, scheduler="serial")
    assert e.value.path.endswith(path) and expected in str(e.value)
    assert not out.exists()
    rc = cli_main(["sweep", CELL, "--grid", grid, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and path in err and expected in err and not out.exists()


@pytest.mark.parametrize("kwargs,path", [
    ({"grid": [f"{SOMA}=1,2", f"{SOMA}=3"]}, f"--grid {SOMA}"),      # the same key twice
    ({"grid": [f"{SOMA}=600,600.0"]}, f"--grid {SOMA}"),               # the same value twice
    ({"seeds": 0}, "--seeds"),
    ({"seeds": [1, 1]}, "seeds"),
    ({"duration_ms": -5.0}, "--duration"),
    ({"duration_ms": 0.01}, "--duration"),                            # less than one step
    ({"workers": 0}, "--workers"),
    ({"scheduler": "bogus"}, "--scheduler"),
    ({"batch_size": 0}, "--batch-size"),
    ({"keep": "everything"}, "keep"),
])
def test_bad_arguments_fail_before_any_run(tmp_path, kwargs, path):
    out = tmp_path / "sw"
    args = dict(grid=[f"{SOMA}=600"], seeds=1, duration_ms=100.0, out=out, scheduler="serial")
    args.update(kwargs)
    with pytest.raises(SpecError) as e:
        S.run_sweep(CELL, **args)
    assert e.value.path == path
    assert not out.exists()


# -------------------------------------------------------------------- storage and batching
def test_run_key_and_files(tmp_path):
    res = S.run_sweep(CELL, [f"{SOMA}=700"], seeds=[3, 5], duration_ms=200.0, out=tmp_path, scheduler="serial",
                      keep="recording")
    spec = l5sim.load_circuit(CELL, overrides={SOMA: 700.0})  # 700 is stored as 700.0, like the file
    for seed in (3, 5):
        key = S.run_key(spec.hash, seed, 200.0, "recording")
        rec = json.loads((tmp_path / "runs" / f"{key}.json").read_text())   # strict JSON, no NaN
        assert rec["seed"] == seed and rec["params"] == {SOMA: 700.0} and rec["recording"] == f"recordings/{key}"
        saved = l5sim.load_recording(tmp_path / rec["recording"])
        assert saved.spike_i.size == rec["summary"]["pyr"]["n_spikes"]
    assert S.run_key(spec.hash, 3, 200.0, "summary") != S.run_key(spec.hash, 3, 200.0, "recording")
    assert S.run_key(spec.hash, 3, 200.0, "summary") != S.run_key(spec.hash, 3, 201.0, "summary")
    assert res.parquet is None or res.parquet.exists()


def test_parquet_when_pyarrow_is_present(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    res = S.run_sweep(CELL, [f"{SOMA}=600,900"], seeds=2, duration_ms=200.0, out=tmp_path, scheduler="serial")
    t = pq.read_table(res.parquet)
    assert t.num_rows == 4 and set(res.columns) == set(t.column_names)


def test_batch_size_rule():
    run = lambda c: {"cost_s": c}  # noqa: E731
    # 1,000 cheap runs (2.5 ms) on 2 workers: 8 tasks of ~0.31 s (>= 4 per worker)
    b = S.make_batches([run(2.5e-3)] * 1000, 2)
    assert len(b) == 8 and sum(map(len, b)) == 1000
    # 100 runs of 0.5 s on 2 workers: tasks reach the 1 s ceiling (2 runs each)
    b = S.make_batches([run(0.5)] * 100, 2)
    assert len(b) == 50 and {len(x) for x in b} == {2}
    # runs longer than the ceiling go one per task; tiny sweeps still make >= 0.2 s tasks
    assert {len(x) for x in S.make_batches([run(3.0)] * 5, 4)} == {1}
    assert len(S.make_batches([run(1e-3)] * 30, 16)) == 1
    assert [len(x) for x in S.make_batches([run(1.0)] * 7, 2, batch_size=3)] == [3, 3, 1]
    # the cost model sees neurons x steps
    plan = S.plan_sweep(COLUMN, None, seeds=1, duration_ms=1000.0)
    assert plan.runs[0]["n_neurons"] == sum(p.n for p in l5sim.load_circuit(COLUMN).populations.values())
    assert 0.3 < plan.runs[0]["cost_s"] < 1.0


def test_cli_registration_imports_nothing_heavy():
    tree = ast.parse((ROOT / "l5sim" / "cli" / "sweep.py").read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = {a.name for n in top for a in n.names} | {n.module for n in top if isinstance(n, ast.ImportFrom)}
    assert names <= {"annotations", "__future__", "argparse", "common", "add_format_option", "add_set_option",
                     "figure_path", "parse_sets"}
    # the sweep package imports numpy, dask and matplotlib only inside functions
    heavy = {"numpy", "numba", "dask", "distributed", "matplotlib", "pandas", "pyarrow"}
    for path in sorted((ROOT / "l5sim" / "sweep").glob("*.py")):
        tree = ast.parse(path.read_text())
        top = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
        top |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert not top & heavy, f"{path.name} imports {sorted(top & heavy)} at the top"
    code = "import sys, l5sim.sweep; print(sorted(m for m in %r if m in sys.modules))" % sorted(heavy)
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"import l5sim.sweep loads {out}"


# ------------------------------------------------------------------------------------- plots
def test_plot_one_and_two_axes(serial_sweep, tmp_path, capsys):
    out = serial_sweep.out
    assert cli_main(["plot", str(out), "--stat", "rate_hz", "--stat", "isi_burst_excess", "--quiet"]) == 0
    png = out / "sweep.png"
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert cli_main(["plot", str(out), "--x", SOMA, "--where", f"{DEND}=300", "--out", str(tmp_path / "a.png"),
                     "--quiet"]) == 0
    assert (tmp_path / "a.png").stat().st_size > 10_000
    _, rows, _ = S.load_results(out)
    fig = S.plot_sweep(rows, SOMA, DEND)
    assert len(fig.axes) == 4          # mean and seed-SD heat maps, each with a colour bar
    assert cli_main(["plot", str(out), "--stat", "nope"]) == 2
    assert "--stat" in capsys.readouterr().err
