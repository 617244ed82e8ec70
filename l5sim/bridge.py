"""The bridge from fitted L5 gain curves to NGM-SGD's parameters, and the bridge file.

The paper (Rodriguez-Garcia, Ghosh & Ramaswamy 2025, arXiv 2507.14056) sets NGM-SGD's gamma,
g0 and eta by hand. This module derives them from the simulator's curves, fitted by
:mod:`l5sim.fits`, and stores fits, units, uncertainties, provenance and the derived parameters in
a versioned JSON **bridge file** (schema ``l5sim/schemas/bridge-v1.schema.json``, validated on
read and on write).

The mapping, step by step (each step is a function below and is tested):

1. **Time.** One optimizer iteration stands for ``ms_per_iteration`` of biological time
   (default :data:`DEFAULT_MS_PER_ITERATION` = 100 ms). Why: an iteration is one learning episode
   (one mini-batch: a stimulus sample and its outcome) and can carry at most one phasic
   noradrenergic drive event; the phasic locus-coeruleus response to a task-relevant stimulus is
   a burst of about 100 ms (Aston-Jones & Cohen 2005, Annu. Rev. Neurosci. 28:403), so one
   iteration lasts about one phasic burst. It is a named parameter: change it and gamma follows.
2. **gamma** = ``exp(-ms_per_iteration / tau_decay_ms)``, where ``tau_decay_ms`` is the decay time
   constant of the gain after a phasic pulse, fit (b) (:func:`l5sim.fits.fit_pulse_response`):
   the optimizer's relaxation ``g <- gamma g + (1 - gamma) g0`` is the exact discretisation of an
   exponential decay to g0 sampled once per iteration. (With tau = 949 ms and 100 ms per
   iteration, gamma = 0.9, the paper's value.) Standard error by the delta method:
   ``gamma ms_per_iteration / tau^2 * se(tau)``.
3. **g0 = 1** by construction: the optimizer's gain is dimensionless, so the fitted f-I gain
   s(m) (Hz/pA) is normalised by its value at the tonic modulator level m0,
   ``g(m) = s(m) / s(m0)``; the baseline gain s(m0) in Hz/pA is recorded for reference.
4. **eta** = ``(dg/dm) * modulator_per_nat``, where ``dg/dm = b / s(m0)`` is the normalised slope of
   the linear fit ``s(m) = a + b m`` (fit (a), gain against modulator level, linearised at m0)
   and ``modulator_per_nat`` is how much phasic modulator one nat of output entropy releases per
   iteration (a named parameter; biology does not measure it). Default: the pulse amplitude of
   the simulated pulse protocol divided by ``ln(n_classes)``, i.e. maximal uncertainty (chance
   level over n_classes) releases one full simulated pulse. Then ``eta H`` is the gain increment
   of that iteration's pulse, which decays with gamma like every other.
5. **lr_coupling** (optional, **off by default**): the fitted STDP speed-up (fit (c)) gives the
   relative change of the weight-change rate per unit modulator, ``d ln(dw)/dm`` (directly if the
   STDP sweep varies the modulator level, or through the burst-reset fraction bf (share of
   spikes in the dendrite's burst reset, :mod:`l5sim.analysis`),
   ``d ln(dw)/d(bf) * d(bf)/dm``, with d(bf)/dm fitted on the gain sweep); per unit of
   normalised gain that is ``lr_coupling = d ln(dw)/dm / (dg/dm)``, used by NGM-SGD as
   ``lr * max(0, 1 + lr_coupling (mean g - g0))``. It goes beyond the paper's chain-rule coupling,
   and a variant that drives the learning rate by entropy made the gap larger (science.md
   section 7), hence off unless asked for.

Input directories (written by ``l5sim gain`` / ``l5sim stdp``): ``GAIN_DIR/gain.csv`` (tidy, one
row per condition, input level and seed), optional ``GAIN_DIR/pulse.csv`` (``time_ms``,
``gain_hz_per_pa``, ``seed``; the pulse amplitude in ``metadata.json`` as ``pulse_amplitude``, or
in a ``pulse_amplitude`` column, or in a ``# pulse_amplitude: 0.5`` comment line),
``STDP_DIR/stdp.csv``, and ``metadata.json`` in each (``seed``, ``circuit_hash``,
``l5sim_version``, ``dt_ms``).
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os

import numpy as np

from ._io import atomic_write
from .errors import BridgeFileError, FitError, L5SimError

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_MS_PER_ITERATION",
    "schema",
    "l5sim_version",
    "read_table",
    "read_gain_dir",
    "read_stdp_dir",
    "gamma_from_tau",
    "normalised_gain_slope",
    "eta_from_gain",
    "lr_coupling_from_stdp",
    "derive_optimizer_params",
    "make_bridge",
    "validate_bridge",
    "write_bridge",
    "read_bridge",
    "optimizer_params",
]

#: Version of the bridge-file schema this l5sim writes and the newest it reads.
SCHEMA_VERSION = 1
#: Biological time one optimizer iteration stands for, ms (one phasic LC burst; see module doc).
DEFAULT_MS_PER_ITERATION = 100.0
_SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "schemas", f"bridge-v{SCHEMA_VERSION}.schema.json")
_METADATA_REQUIRED = ("seed", "circuit_hash", "l5sim_version", "dt_ms")


def l5sim_version() -> str:
    """The version of this l5sim (``l5sim.__version__``)."""
    from . import __version__

    return __version__


def schema() -> dict:
    """The bridge-file JSON schema (version :data:`SCHEMA_VERSION`)."""
    with open(_SCHEMA_FILE) as fh:
        return json.load(fh)


# -- reading simulator outputs -------------------------------------------------------------------
def read_table(path: str) -> tuple[dict, dict]:
    """Read a tidy CSV file into numpy columns.

    Lines starting with ``#`` before the header are metadata (``# key: value``). A column whose
    every value parses as a float becomes a float array; otherwise a str array.

    Parameters
    ----------
    path : str

    Returns
    -------
    columns : dict of str to numpy.ndarray
    meta : dict of str to str

    Raises
    ------
    BridgeFileError
        If the file is missing or has no header or no rows.
    """
    if not os.path.isfile(path):
        raise BridgeFileError(f"{path}: file not found")
    meta = {}
    with open(path, newline="") as fh:
        lines = [ln for ln in fh]
    body = []
    for ln in lines:
        s = ln.strip()
        if s.startswith("#"):
            if ":" in s:
                k, v = s[1:].split(":", 1)
                meta[k.strip()] = v.strip()
            continue
        if s:
            body.append(ln)
    rows = list(csv.reader(body))
    if len(rows) < 2:
        raise BridgeFileError(f"{path}: expected a header line and at least one data row")
    header, data = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        vals = [r[j] if j < len(r) else "" for r in data]
        try:
            cols[name] = np.array([float(v) for v in vals])
        except ValueError:
            cols[name] = np.array(vals, dtype=str)
    return cols, meta


def _check_renamed(cols, path: str, command: str) -> None:
    """One-line error for tables written before the burst columns were renamed (issue 17)."""
    from .analysis import RENAMED, renamed_columns

    old = renamed_columns(cols)
    if old:
        raise BridgeFileError(f"{path}: column {old[0]!r} was renamed ({old[0]} -> {RENAMED[old[0]]}); "
                              f"regenerate it with `{command}` (scripts/make_bridge_from_simulator.sh)")


def _require(cols: dict, names, path: str):
    missing = [n for n in names if n not in cols]
    if missing:
        raise BridgeFileError(f"{path}: column(s) {missing} missing; expected columns {list(names)}")


def _read_metadata(d: str) -> dict:
    p = os.path.join(d, "metadata.json")
    if not os.path.isfile(p):
        raise BridgeFileError(f"{p}: file not found; expected metadata.json with "
                              f"{list(_METADATA_REQUIRED)}")
    with open(p) as fh:
        try:
            meta = json.load(fh)
        except json.JSONDecodeError as exc:
            raise BridgeFileError(f"{p}: not valid JSON ({exc})") from exc
    for k in _METADATA_REQUIRED:
        if k not in meta:
            raise BridgeFileError(f"{p}: field {k!r} missing; expected {list(_METADATA_REQUIRED)}")
    return meta


def _provenance(d: str, meta: dict) -> dict:
    seeds = meta["seed"] if isinstance(meta["seed"], list) else [meta["seed"]]
    out = {"dir": os.path.abspath(d), "circuit_hash": str(meta["circuit_hash"]),
           "seeds": [int(s) for s in seeds], "l5sim_version": str(meta["l5sim_version"]),
           "dt_ms": float(meta["dt_ms"])}
    return out


def read_gain_dir(gain_dir: str) -> dict:
    """Read an ``l5sim gain`` output directory.

    Parameters
    ----------
    gain_dir : str

    Returns
    -------
    dict
        ``table`` (gain.csv columns), ``pulse`` (None or ``{"time_ms", "gain_hz_per_pa",
        "pulse_amplitude"}``), ``metadata`` (metadata.json), ``provenance``.

    Raises
    ------
    BridgeFileError
        If gain.csv or metadata.json is missing or lacks a column or field.
    """
    p = os.path.join(gain_dir, "gain.csv")
    if not os.path.isfile(p):
        raise BridgeFileError(f"{p}: gain.csv not found; expected the output directory of "
                              "`l5sim gain`")
    table, _ = read_table(p)
    _check_renamed(table, p, "l5sim gain")
    _require(table, ("condition", "vary_key", "vary_value", "input_value", "rate_hz", "seed"), p)
    meta = _read_metadata(gain_dir)
    pulse = None
    pp = os.path.join(gain_dir, "pulse.csv")
    if os.path.isfile(pp):
        pt, pmeta = read_table(pp)
        _require(pt, ("time_ms", "gain_hz_per_pa"), pp)
        amp = meta.get("pulse_amplitude")
        if amp is None and "pulse_amplitude" in pt:
            amp = float(pt["pulse_amplitude"][0])
        if amp is None and "pulse_amplitude" in pmeta:
            amp = float(pmeta["pulse_amplitude"])
        pulse = {"time_ms": pt["time_ms"], "gain_hz_per_pa": pt["gain_hz_per_pa"],
                 "pulse_amplitude": None if amp is None else float(amp)}
    return {"table": table, "pulse": pulse, "metadata": meta,
            "provenance": _provenance(gain_dir, meta)}


def read_stdp_dir(stdp_dir: str) -> dict:
    """Read an ``l5sim stdp`` output directory (``stdp.csv`` and ``metadata.json``).

    Returns
    -------
    dict
        ``table``, ``metadata``, ``provenance``.
    """
    p = os.path.join(stdp_dir, "stdp.csv")
    if not os.path.isfile(p):
        raise BridgeFileError(f"{p}: stdp.csv not found; expected the output directory of "
                              "`l5sim stdp`")
    table, _ = read_table(p)
    _check_renamed(table, p, "l5sim stdp")
    _require(table, ("condition", "burst_reset_fraction", "modulator_level", "seed", "dw_per_s"), p)
    meta = _read_metadata(stdp_dir)
    return {"table": table, "metadata": meta, "provenance": _provenance(stdp_dir, meta)}


# -- the mapping, one function per step ----------------------------------------------------------
def gamma_from_tau(tau_decay_ms: float, tau_stderr_ms: float = 0.0,
                   ms_per_iteration: float = DEFAULT_MS_PER_ITERATION) -> tuple[float, float]:
    """Step 2: gain decay per iteration, ``gamma = exp(-ms_per_iteration / tau_decay_ms)``.

    Parameters
    ----------
    tau_decay_ms : float
        Decay time constant of the gain after a phasic pulse, ms (> 0).
    tau_stderr_ms : float
        Its standard error, ms.
    ms_per_iteration : float
        Biological time of one iteration, ms (> 0).

    Returns
    -------
    gamma, stderr : float
        Dimensionless, in (0, 1); delta-method standard error.
    """
    if not (tau_decay_ms > 0 and math.isfinite(tau_decay_ms)):
        raise L5SimError(f"tau_decay_ms: got {tau_decay_ms!r}; expected a finite value > 0 ms")
    if not (ms_per_iteration > 0 and math.isfinite(ms_per_iteration)):
        raise L5SimError(f"ms_per_iteration: got {ms_per_iteration!r}; expected > 0 ms")
    g = math.exp(-ms_per_iteration / tau_decay_ms)
    return g, g * ms_per_iteration / tau_decay_ms ** 2 * abs(tau_stderr_ms)


def normalised_gain_slope(intercept: float, slope: float, cov, tonic_level: float) -> tuple[float, float, float, float]:
    """Step 3-4: baseline gain s(m0) and normalised slope ``dg/dm = b / (a + b m0)``.

    Parameters
    ----------
    intercept, slope : float
        Linear fit ``s(m) = a + b m`` of the f-I gain (Hz/pA) against modulator level m.
    cov : array_like, shape (2, 2)
        Covariance of (a, b).
    tonic_level : float
        Tonic modulator level m0.

    Returns
    -------
    s0, s0_se : float
        Baseline gain s(m0), Hz/pA, and its standard error.
    dgdm, dgdm_se : float
        Normalised slope, 1/level, and its delta-method standard error.
    """
    a, b = float(intercept), float(slope)
    C = np.asarray(cov, dtype=float)
    s0 = a + b * tonic_level
    if not s0 > 0:
        raise FitError(f"baseline gain s(m0) at tonic level {tonic_level:g} is {s0:.4g} Hz/pA; "
                       "expected > 0 to normalise the gain")
    J0 = np.array([1.0, tonic_level])
    s0_se = math.sqrt(max(J0 @ C @ J0, 0.0))
    dgdm = b / s0
    J = np.array([-b / s0 ** 2, a / s0 ** 2])
    return s0, s0_se, dgdm, math.sqrt(max(J @ C @ J, 0.0))


def eta_from_gain(dgdm: float, dgdm_se: float, modulator_per_nat: float) -> tuple[float, float]:
    """Step 4: ``eta = (dg/dm) * modulator_per_nat`` (gain per nat per iteration) and its error."""
    if not (modulator_per_nat >= 0 and math.isfinite(modulator_per_nat)):
        raise L5SimError(f"modulator_per_nat: got {modulator_per_nat!r}; expected a finite value >= 0")
    eta = dgdm * modulator_per_nat
    if eta < 0:
        raise FitError(f"eta = {eta:.4g} < 0: the fitted gain falls with the modulator "
                       f"(dg/dm = {dgdm:.4g}); NGM-SGD needs a gain that rises with it")
    return eta, abs(dgdm_se * modulator_per_nat)


def lr_coupling_from_stdp(dlnw_dm: float, dlnw_dm_se: float, dgdm: float,
                          dgdm_se: float) -> tuple[float, float]:
    """Step 5: ``lr_coupling = d ln(dw)/dm / (dg/dm)`` (per unit normalised gain) and its error.

    Relative errors are combined in quadrature (the two fits come from different experiments).
    """
    if dgdm == 0:
        raise FitError("dg/dm = 0: the gain does not depend on the modulator; the learning-rate "
                       "coupling per unit gain is undefined")
    c = dlnw_dm / dgdm
    rel = math.hypot(dlnw_dm_se / dlnw_dm if dlnw_dm else 0.0, dgdm_se / dgdm)
    return c, abs(c) * rel


def derive_optimizer_params(gain_fits: dict, pulse_fit=None, stdp_fit=None, *,
                            tonic_level: float, modulator_per_nat: float,
                            ms_per_iteration: float = DEFAULT_MS_PER_ITERATION,
                            tau_decay_ms: float | None = None) -> dict:
    """Apply the mapping (steps 1-5) to fitted curves: a pure function.

    Parameters
    ----------
    gain_fits : dict
        Output of :func:`l5sim.fits.fit_gain_table`.
    pulse_fit : FitResult, optional
        Output of :func:`l5sim.fits.fit_pulse_response` (needed unless ``tau_decay_ms`` given).
    stdp_fit : FitResult, optional
        Output of :func:`l5sim.fits.fit_stdp_speedup`.
    tonic_level : float
        Tonic modulator level m0.
    modulator_per_nat : float
        Phasic modulator level per nat of entropy per iteration.
    ms_per_iteration : float
        Biological time of one iteration, ms.
    tau_decay_ms : float, optional
        Overrides the fitted decay time (standard error then 0).

    Returns
    -------
    dict
        The bridge file's ``optimizer`` object: ``gamma``, ``g0``, ``eta``, ``lr_coupling`` (each
        with ``value``, ``stderr``, ``unit``, ``formula``; ``lr_coupling`` with ``enabled``:
        False), plus the key ``_intermediate`` (s0, dg/dm) that :func:`make_bridge` removes.
    """
    if tau_decay_ms is not None:
        tau, tau_se, tau_src = float(tau_decay_ms), 0.0, "user"
    elif pulse_fit is not None:
        tau, tau_se = pulse_fit["tau_decay_ms"].value, pulse_fit["tau_decay_ms"].stderr
        tau_src = "fit (b)"
    else:
        raise L5SimError("tau_decay_ms: no pulse-response fit (pulse.csv) and no tau_decay_ms; "
                         "expected one of them to derive gamma")
    gamma, gamma_se = gamma_from_tau(tau, tau_se, ms_per_iteration)
    gvm = gain_fits["gain_vs_modulator"]
    s0, s0_se, dgdm, dgdm_se = normalised_gain_slope(gvm["intercept"].value, gvm["slope"].value,
                                                     gvm.cov, tonic_level)
    eta, eta_se = eta_from_gain(dgdm, dgdm_se, modulator_per_nat)
    lrc = {"value": 0.0, "stderr": None, "unit": "1/gain", "enabled": False,
           "formula": "not derived: no STDP fit"}
    if stdp_fit is not None:
        xname = stdp_fit.extra["x_name"]
        rel = stdp_fit["relative_slope_per_unit"]
        if xname == "modulator_level":
            d, d_se, how = rel.value, rel.stderr, "d ln(dw)/dm from the STDP sweep over modulator"
        else:
            bvm = gain_fits.get("burst_vs_modulator")
            if bvm is None:
                d = None
                lrc["formula"] = ("not derived: the STDP sweep varies the burst-reset fraction but the gain "
                                  "sweep shows no burst-reset-fraction change with the modulator")
            else:
                dbf, dbf_se = bvm["slope"].value, bvm["slope"].stderr
                d = rel.value * dbf
                d_se = abs(d) * math.hypot(rel.stderr / rel.value if rel.value else 0.0,
                                           dbf_se / dbf if dbf else 0.0)
                how = "d ln(dw)/d(burst-reset fraction) x d(burst-reset fraction)/dm"
        if d is not None:
            c, c_se = lr_coupling_from_stdp(d, d_se, dgdm, dgdm_se)
            lrc.update(value=c, stderr=c_se,
                       formula=f"lr_coupling = d ln(dw)/dm / (dg/dm); {how}; used as "
                               "lr * max(0, 1 + lr_coupling (mean g - g0)) only if enabled")
    return {
        "gamma": {"value": gamma, "stderr": gamma_se, "unit": "1/iteration",
                  "formula": f"gamma = exp(-ms_per_iteration / tau_decay_ms), ms_per_iteration = "
                             f"{ms_per_iteration:g} ms, tau_decay_ms = {tau:.6g} ms ({tau_src})"},
        "g0": {"value": 1.0, "stderr": 0.0, "unit": "1",
               "formula": f"g0 = s(m0)/s(m0) = 1: the gain is normalised by the baseline f-I gain "
                          f"s(m0) = {s0:.6g} +- {s0_se:.3g} Hz/pA at tonic level m0 = "
                          f"{tonic_level:g}"},
        "eta": {"value": eta, "stderr": eta_se, "unit": "1/(nat iteration)",
                "formula": f"eta = (dg/dm) x modulator_per_nat, dg/dm = b/s(m0) = {dgdm:.6g} "
                           f"+- {dgdm_se:.3g} per level, modulator_per_nat = "
                           f"{modulator_per_nat:.6g} level/nat"},
        "lr_coupling": lrc,
        "_intermediate": {"s0": s0, "s0_se": s0_se, "dgdm": dgdm, "dgdm_se": dgdm_se,
                          "tau_ms": tau},
    }


MAPPING_DESCRIPTION = (
    "One optimizer iteration stands for ms_per_iteration of biological time (default 100 ms: one "
    "phasic LC-NA burst, Aston-Jones & Cohen 2005; an iteration carries at most one phasic drive). "
    "gamma = exp(-ms_per_iteration / tau_decay_ms) with tau from the gain decay after a phasic "
    "pulse; g = s(m)/s(m0) so g0 = 1; eta = (dg/dm) x modulator_per_nat (default pulse "
    "amplitude / ln(n_classes): chance-level entropy releases one simulated pulse); lr_coupling "
    "= d ln(dw)/dm / (dg/dm) from the STDP speed-up, off by default. See l5sim/bridge.py."
)


def _shape_doc(shape) -> dict:
    """The curve-shape fields of an f-I entry (:class:`l5sim.analysis.FIShape`), NaN as null."""
    def num(v):
        return float(v) if v is not None and math.isfinite(v) else None

    return {"onset_pa": num(shape.onset_pa), "window_pa": [num(v) for v in shape.window_pa],
            "one_line_ok": bool(shape.one_line_ok), "fit_note": shape.note,
            "max_local_slope_hz_per_pa": num(shape.max_local_slope_hz_per_pa),
            "max_local_slope_at_pa": num(shape.max_local_slope_at_pa)}


def make_bridge(gain_dir: str, stdp_dir: str | None = None, *,
                ms_per_iteration: float | None = None, modulator_per_nat: float | None = None,
                n_classes: int = 10, tonic_level: float | None = None,
                tau_decay_ms: float | None = None, fi_model: str = "auto",
                fi_window_pa: float | None = None) -> dict:
    """Fit an ``l5sim gain`` (and optionally ``l5sim stdp``) directory and build a bridge document.

    Parameters
    ----------
    gain_dir : str
        Output of ``l5sim gain`` (gain.csv, metadata.json, optional pulse.csv).
    stdp_dir : str, optional
        Output of ``l5sim stdp`` (stdp.csv, metadata.json).
    ms_per_iteration : float, optional
        Biological time of one iteration, ms (default :data:`DEFAULT_MS_PER_ITERATION`).
    modulator_per_nat : float, optional
        Modulator level per nat of entropy (default: pulse amplitude / ln(n_classes); an error
        if the pulse amplitude is unknown).
    n_classes : int
        Number of output classes of the target task (for the default above).
    tonic_level : float, optional
        Tonic modulator level m0 (default: ``metadata.json``'s ``tonic_level``, else the lowest
        swept level).
    tau_decay_ms : float, optional
        Decay time of the gain, ms, overriding (or replacing a missing) pulse fit.
    fi_model : str
        f-I model for :func:`l5sim.fits.fit_fi_curve`.
    fi_window_pa : float, optional
        f-I fit window above the firing onset, pA (default
        :data:`l5sim.analysis.FI_WINDOW_PA`; see :func:`l5sim.fits.fit_gain_table`).

    Returns
    -------
    dict
        A bridge document, valid against the schema.

    Raises
    ------
    FitError, BridgeFileError, L5SimError
        If a fit fails (the message says which and why) or an input is missing.
    """
    from .fits import fit_gain_table, fit_pulse_response, fit_stdp_speedup

    g = read_gain_dir(gain_dir)
    gain_fits = fit_gain_table(g["table"], model=fi_model, window_pa=fi_window_pa)
    levels = [e["vary_value"] for e in gain_fits["fi"]]
    if tonic_level is None:
        if "tonic_level" in g["metadata"]:
            m0, m0_src = float(g["metadata"]["tonic_level"]), "metadata.json tonic_level"
        else:
            m0, m0_src = float(min(levels)), "default: lowest swept level"
    else:
        m0, m0_src = float(tonic_level), "user"
    pulse_fit, pulse_doc = None, None
    if g["pulse"] is not None:
        try:
            pulse_fit = fit_pulse_response(g["pulse"]["time_ms"], g["pulse"]["gain_hz_per_pa"])
        except FitError as exc:
            raise FitError(f"{os.path.join(gain_dir, 'pulse.csv')}: {exc}") from exc
        pulse_doc = {"pulse_amplitude": g["pulse"]["pulse_amplitude"], "fit": pulse_fit.to_dict()}
    ms = DEFAULT_MS_PER_ITERATION if ms_per_iteration is None else float(ms_per_iteration)
    ms_src = ("default: one phasic LC burst, ~100 ms (Aston-Jones & Cohen 2005)"
              if ms_per_iteration is None else "user")
    if not isinstance(n_classes, int) or n_classes < 2:
        raise L5SimError(f"n_classes: got {n_classes!r}; expected an integer >= 2")
    if modulator_per_nat is None:
        amp = g["pulse"]["pulse_amplitude"] if g["pulse"] is not None else None
        if amp is None:
            raise L5SimError("modulator_per_nat: not given and no pulse amplitude is known "
                             "(metadata.json 'pulse_amplitude'); expected --modulator-per-nat")
        mpn = float(amp) / math.log(n_classes)
        mpn_src = (f"default: pulse amplitude {amp:g} / ln({n_classes}): chance-level entropy "
                   "releases one simulated pulse")
    else:
        mpn, mpn_src = float(modulator_per_nat), "user"

    stdp_fit, stdp_doc, stdp_prov = None, None, None
    if stdp_dir is not None:
        s = read_stdp_dir(stdp_dir)
        t = s["table"]
        xname = "modulator_level" if np.ptp(t["modulator_level"]) > 0 else "burst_reset_fraction"
        try:
            stdp_fit = fit_stdp_speedup(t[xname], t["dw_per_s"], x_name=xname)
        except FitError as exc:
            raise FitError(f"{os.path.join(stdp_dir, 'stdp.csv')}: {exc}") from exc
        stdp_doc = {"x_name": xname, "x_ref": stdp_fit.extra["x_ref"], "fit": stdp_fit.to_dict()}
        stdp_prov = s["provenance"]

    opt = derive_optimizer_params(gain_fits, pulse_fit, stdp_fit, tonic_level=m0,
                                  modulator_per_nat=mpn, ms_per_iteration=ms,
                                  tau_decay_ms=tau_decay_ms)
    inter = opt.pop("_intermediate")
    mapping = {
        "ms_per_iteration": {"value": ms, "unit": "ms", "source": ms_src},
        "modulator_per_nat": {"value": mpn, "unit": "level/nat", "source": mpn_src},
        "tonic_level": {"value": m0, "unit": "level", "source": m0_src},
        "n_classes": n_classes,
        "description": MAPPING_DESCRIPTION,
    }
    if tau_decay_ms is not None:
        mapping["tau_decay_ms"] = {"value": float(tau_decay_ms), "unit": "ms",
                                   "source": "user" + (" (overrides the pulse fit)"
                                                       if pulse_fit is not None else "")}
    else:
        mapping["tau_decay_ms"] = {"value": inter["tau_ms"], "unit": "ms", "source": "fit (b)"}
    doc = {
        "format": "l5sim-bridge",
        "schema_version": SCHEMA_VERSION,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "l5sim_version": l5sim_version(),
        "provenance": {"gain": g["provenance"], "stdp": stdp_prov},
        "fits": {
            "fi_curves": [{"condition": e["condition"], "vary_key": gain_fits["vary_key"],
                           "vary_value": e["vary_value"], "burst_reset_fraction": e["burst_reset_fraction"],
                           **_shape_doc(e["shape"]), "fit": e["fit"].to_dict()} for e in gain_fits["fi"]],
            "gain_vs_modulator": {"vary_key": gain_fits["vary_key"],
                                  "fit": gain_fits["gain_vs_modulator"].to_dict()},
            "burst_vs_modulator": (gain_fits["burst_vs_modulator"].to_dict()
                                   if gain_fits["burst_vs_modulator"] is not None else None),
            "pulse": pulse_doc,
            "stdp": stdp_doc,
        },
        "mapping": mapping,
        "optimizer": opt,
    }
    validate_bridge(doc)
    return doc


# -- validation, reading and writing -------------------------------------------------------------
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(v, t: str) -> bool:
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return (isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(float(v)))
    return isinstance(v, _TYPES[t])


def _validate(v, s: dict, root: dict, path: str) -> None:
    """A small JSON-schema validator for the keywords the bridge schema uses."""
    if "$ref" in s:
        ref = s["$ref"]
        if not ref.startswith("#/$defs/"):
            raise BridgeFileError(f"schema: unsupported $ref {ref!r}")
        _validate(v, root["$defs"][ref[len("#/$defs/"):]], root, path)
    if "anyOf" in s:
        errs = []
        for sub in s["anyOf"]:
            try:
                _validate(v, sub, root, path)
                break
            except BridgeFileError as exc:
                errs.append(str(exc))
        else:
            raise BridgeFileError(f"{path}: matches none of the allowed forms ({'; '.join(errs)})")
    if "const" in s and v != s["const"]:
        raise BridgeFileError(f"{path}: got {v!r}; expected {s['const']!r}")
    if "enum" in s and v not in s["enum"]:
        raise BridgeFileError(f"{path}: got {v!r}; expected one of {s['enum']}")
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(_type_ok(v, t) for t in types):
            raise BridgeFileError(f"{path}: got {v!r} ({type(v).__name__}); expected "
                                  f"{' or '.join(types)}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            raise BridgeFileError(f"{path}: got {v!r}; expected >= {s['minimum']}")
        if "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            raise BridgeFileError(f"{path}: got {v!r}; expected > {s['exclusiveMinimum']}")
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                raise BridgeFileError(f"{path}: field {k!r} missing")
        props = s.get("properties", {})
        addl = s.get("additionalProperties", True)
        for k, item in v.items():
            if k in props:
                _validate(item, props[k], root, f"{path}.{k}")
            elif addl is False:
                raise BridgeFileError(f"{path}: unexpected field {k!r}; expected only "
                                      f"{sorted(props)}")
            elif isinstance(addl, dict):
                _validate(item, addl, root, f"{path}.{k}")
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            raise BridgeFileError(f"{path}: {len(v)} items; expected at least {s['minItems']}")
        if "items" in s:
            for i, item in enumerate(v):
                _validate(item, s["items"], root, f"{path}[{i}]")


def validate_bridge(doc: dict) -> None:
    """Check a bridge document: format, version (not newer than this l5sim's) and schema.

    Raises
    ------
    BridgeFileError
        Naming the first offending field, its value and what was expected; or saying that the
        file was written by a newer schema version.
    """
    if not isinstance(doc, dict):
        raise BridgeFileError(f"bridge: got {type(doc).__name__}; expected a JSON object")
    if doc.get("format") != "l5sim-bridge":
        raise BridgeFileError(f"bridge.format: got {doc.get('format')!r}; expected 'l5sim-bridge'")
    ver = doc.get("schema_version")
    if not isinstance(ver, int) or isinstance(ver, bool):
        raise BridgeFileError(f"bridge.schema_version: got {ver!r}; expected an integer")
    if ver > SCHEMA_VERSION:
        raise BridgeFileError(f"bridge.schema_version: got {ver}, newer than the version this "
                              f"l5sim ({l5sim_version()}) reads ({SCHEMA_VERSION}); upgrade l5sim")
    sch = schema()
    _validate(doc, sch, sch, "bridge")


def write_bridge(doc: dict, path: str) -> None:
    """Validate ``doc`` and write it as JSON, atomically (:func:`l5sim._io.atomic_write`)."""
    validate_bridge(doc)
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def read_bridge(path) -> dict:
    """Read and validate a bridge file.

    Raises
    ------
    BridgeFileError
        If the file is missing, not JSON, invalid, or of a newer schema version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise BridgeFileError(f"{path}: bridge file not found")
    with open(path) as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise BridgeFileError(f"{path}: not valid JSON ({exc})") from exc
    try:
        validate_bridge(doc)
    except BridgeFileError as exc:
        raise BridgeFileError(f"{path}: {exc}") from exc
    return doc


def optimizer_params(bridge, use_lr_coupling: bool = False) -> dict:
    """NGM-SGD keyword arguments from a bridge file.

    Parameters
    ----------
    bridge : str or os.PathLike or dict
        Path or parsed document (validated either way).
    use_lr_coupling : bool
        Include the learning-rate coupling (off by default; see module doc, step 5).

    Returns
    -------
    dict
        ``gamma``, ``g0``, ``eta``, ``lr_coupling`` (0 unless ``use_lr_coupling``).
    """
    doc = bridge if isinstance(bridge, dict) else read_bridge(bridge)
    if isinstance(bridge, dict):
        validate_bridge(doc)
    o = doc["optimizer"]
    return {"gamma": float(o["gamma"]["value"]), "g0": float(o["g0"]["value"]),
            "eta": float(o["eta"]["value"]),
            "lr_coupling": float(o["lr_coupling"]["value"]) if use_lr_coupling else 0.0}
