"""The reset guard of the 2007 cells with u-dependent cut-off and reset (LTS, TC).

Izhikevich (2007, ch. 8.2.5, Fig. 8.25) gives the LTS cell the cut-off 40 - 0.1 u, the reset
-53 + 0.04 u and a cap of 670 pA on u; the reset reaches the cut-off at u = 664 pA, so a cell
driven hard enough to reach the cap fires at every step. l5sim clamps the reset to
``reset_margin_mV`` below the cut-off at the new u (:mod:`l5sim.models.izhikevich`). The
expectations here come from a minimal NumPy Euler integrator of the book's equations written
below, not from the kernel.
"""
import math

import numpy as np
import pytest

import l5sim
from l5sim.errors import SpecError
from l5sim.kernels import izh2007 as K07
from l5sim.models import izhikevich as izh
from l5sim.spec import from_dict

DT = 0.1          # ms
DRIVE_PA = 2000.0  # a step current that carries u to the cap (guarded or not) within 150 ms
DURATION_MS = 300.0
LTS = izh.LTS


def _circuit(integration="euler", **params):
    pop = {"model": "izhikevich2007", "n": 1, "preset": "LTS", "integration": integration}
    if params:
        pop["params"] = params
    return from_dict({"circuit": {"name": "lts", "dt_ms": DT}, "populations": {"c": pop},
                      "inputs": {"step": {"kind": "current", "population": "c", "amplitude_pA": DRIVE_PA}},
                      "recording": {"traces": {"c": {"neurons": [0], "variables": ["v", "u"],
                                                     "interval_ms": DT}}}})


def euler_lts(p, drive_pA, duration_ms, dt, guard=True):
    """The book's LTS cell under a constant current, forward Euler (u updated with the
    old v), the cut-off tested with the updated u; returns spike steps and the u trace."""
    v = p.vr_mV
    u = p.b_nS * (v - p.vr_mV)
    spikes, us = [], []
    for t in range(int(round(duration_ms / dt))):
        vn = v + dt / p.C_pF * (p.k * (v - p.vr_mV) * (v - p.vt_mV) - u + drive_pA)
        u = u + dt * p.a_per_ms * (p.b_nS * (v - p.vr_mV) - u)
        v = vn
        if v >= p.vpeak_mV + p.vpeak_u * u:
            u_new = min(u + p.d_pA, p.u_max_pA)
            v = p.c_mV + p.c_u * u
            if guard:
                v = min(v, (p.vpeak_mV - p.reset_margin_mV) + p.vpeak_u * u_new)
            u = u_new
            spikes.append(t)
        us.append(u)
    return np.array(spikes), np.array(us)


def test_unguarded_book_cell_fires_every_step_at_the_cap():
    """The degenerate condition exists: without the guard, once u sits at the cap the
    reset (-26.2 mV) lies above the cut-off (-27 mV) and the cell fires at every step."""
    spikes, us = euler_lts(LTS, DRIVE_PA, DURATION_MS, DT, guard=False)
    assert us.max() == LTS.u_max_pA
    late = spikes[spikes >= int(200.0 / DT)]
    assert late.size == int(100.0 / DT)                  # every one of the last 1000 steps
    assert LTS.c_mV + LTS.c_u * LTS.u_max_pA >= LTS.vpeak_mV + LTS.vpeak_u * LTS.u_max_pA


def test_guarded_lts_cell_reaches_the_cap_at_a_bounded_rate():
    built = l5sim.build(_circuit(), 0)
    rec = l5sim.simulate(built, DURATION_MS)
    t_ms = rec.spike_t_ms
    ref_steps, ref_u = euler_lts(LTS, DRIVE_PA, DURATION_MS, DT)
    # the kernel follows the NumPy integrator spike for spike (same operations in float64;
    # a spike emitted after step t is stamped t or t + 1: one step of tolerance)
    assert t_ms.size == ref_steps.size
    np.testing.assert_allclose(t_ms, ref_steps * DT, atol=DT * 1.01)
    assert ref_u.max() == LTS.u_max_pA                  # the drive does carry u to the cap
    # Independent bound on the rate once u is high: between spikes v rises from at most
    # the ceiling vpeak + vpeak_u u_new - margin to the cut-off vpeak + vpeak_u u; with u
    # in [u_lo, u_max] over the window (so that u changes the cut-off by at most
    # |vpeak_u| (u_max - u_lo)), the rise is at least margin - |vpeak_u| (u_max - u_lo), and
    # v climbs at most dv_max per ms, the largest k (v - vr)(v - vt) - u + I over
    # v <= cut-off(u_lo), divided by C.
    window = ref_steps >= int(150.0 / DT)
    u_lo = ref_u[int(150.0 / DT) - 1:].min()
    p = LTS
    rise = p.reset_margin_mV - abs(p.vpeak_u) * (p.u_max_pA - u_lo)
    assert rise > 0
    v_top = p.vpeak_mV + p.vpeak_u * u_lo
    dv_max = (p.k * (v_top - p.vr_mV) * (v_top - p.vt_mV) - u_lo + DRIVE_PA) / p.C_pF
    min_steps = math.ceil(rise / (dv_max * DT))
    late = t_ms[t_ms >= 150.0]
    assert late.size == window.sum()
    assert np.diff(late).min() >= min_steps * DT - 1e-9
    rate_late_hz = late.size / ((DURATION_MS - 150.0) / 1e3)
    assert rate_late_hz <= 1e3 / (min_steps * DT) + 1e-9
    assert rate_late_hz < 0.2 * 1e3 / DT                 # far from one spike per step


def test_reset_never_reaches_the_cut_off_after_the_guard():
    """For every u the kernel's reset lies the margin below the cut-off at the new u, for
    the LTS and TC presets (both u-dependent) and a smaller margin."""
    for preset, params in (("LTS", {}), ("TC", {}), ("LTS", {"reset_margin_mV": 0.5})):
        data = {"circuit": {"name": "c"}, "populations": {"c": {"model": "izhikevich2007", "n": 1,
                                                                "preset": preset, "params": params}}}
        built = l5sim.build(from_dict(data), 0)
        pr = built.net.izh2007
        p = from_dict(data).populations["c"].cell_params()
        for u in np.linspace(-2000.0, 2000.0, 4001):
            v, un = K07.reset(u, p.c_mV, p.d_pA, pr.c_u_mV_per_pA[0], pr.u_max_pA[0], pr.reset_ceiling_mV[0],
                              pr.vpeak_u_mV_per_pA[0])
            assert un == min(u + p.d_pA, p.u_max_pA)
            cut_off = p.vpeak_mV + p.vpeak_u * un
            assert v <= cut_off - p.reset_margin_mV + 1e-9, (preset, u)
            assert v < cut_off
            book = p.c_mV + p.c_u * u
            assert v == min(book, (p.vpeak_mV - p.reset_margin_mV) + p.vpeak_u * un), (preset, u)
            if preset == "LTS" and 0.0 <= u < izh.reset_guard_onset(p):   # the book's reset below the onset
                assert v == book, u


def test_guard_onset_of_the_presets():
    # LTS: -53 + 0.04 u = 40 - 0.1 (u + 20) - 10  ->  u = 81 / 0.14
    assert izh.reset_guard_onset(LTS) == pytest.approx(81.0 / 0.14)
    assert izh.reset_guard_onset(LTS) < LTS.u_max_pA          # it binds within the book's cap
    for name in ("RS", "IB", "CH", "FS", "TC", "BASKET"):     # never for u growing
        assert izh.reset_guard_onset(izh.PRESETS_2007[name]) == math.inf, name


def test_reset_at_the_cut_off_is_rejected():
    data = {"circuit": {"name": "c"}, "populations": {"c": {"model": "izhikevich2007", "n": 1,
                                                            "params": {"c_mV": 30.0}}}}
    with pytest.raises(SpecError, match=r"populations\.c\.params\.c_mV.*30.*reset_margin_mV"):
        from_dict(data)
    data["populations"]["c"]["params"] = {"reset_margin_mV": 0.0}
    with pytest.raises(SpecError, match=r"populations\.c\.params\.reset_margin_mV.*> 0"):
        from_dict(data)
