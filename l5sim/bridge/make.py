"""Fitting an ``l5sim gain`` (and ``l5sim stdp``) directory into a bridge document."""
from __future__ import annotations

import datetime as _dt
import math
import os

import numpy as np

from ..errors import FitError, L5SimError
from .document import SCHEMA_VERSION, l5sim_version, validate_bridge
from .mapping import DEFAULT_MS_PER_ITERATION, MAPPING_DESCRIPTION, derive_optimizer_params
from .tables import read_gain_dir, read_stdp_dir

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
    from ..fits import fit_gain_table, fit_pulse_response, fit_stdp_speedup

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
