"""The L5 column (``circuits/l5_column.toml``) written independently in Brian2.

Imported by ``brian2_runner.py`` (``.venv-brian2``); needs Brian2 and NumPy, never l5sim.
The circuit's sizes, pathways, weights, receptors, delays and drives are read from the
TOML file (standard-library ``tomllib``); the cells' equations and parameters are written
here from their published sources, as l5sim's model docstrings state them
(``l5sim/models/l5pyramidal.py``, ``l5sim/models/izhikevich.py``,
``l5sim/models/synapses.py``, ``l5sim/kernels/engine.py``; science.md sections 3-4).
Units: ms, mV, pF, nS, pA (Brian2 variables are dimensionless numbers in those units).

Cells
-----
Two-compartment L5 pyramidal cell, preset LVPA (Whyte et al. 2025, PLoS Comput Biol,
LVPA code; dendrite after Naud & Sprekeler 2018)::

    C dv/dt = k (v - vr)(v - vt) - u + sum_x g_x (E_x - v) + g_ad (E_ad - v) + g_s F(v_d) + I
    du/dt = a (b (v - vr) - u)
    C_d dv_d/dt = -g_L (v_d - E_L) + g_Ca F(v_d) + w_d + I_bAP + sum_x g_x,d (E_x - v_d)
                  + I_d + G (v - v_d)
    dw_d/dt = (b_d (v_d - E_L) - w_d) / tau_w,      F(x) = 1 / (1 + exp((E_half - x) / D))

semi-implicit in the synaptic (and adaptation) conductances, forward Euler otherwise
(u and w_d from the old v, v_d). Spike at v >= vpeak after the update: v <- c, u <- u + d,
g_ad += dg_ad; (c, d) = (c_burst, d_burst) when this step's burst flag is set. Per-spike
coupling gate (``gate = "per_spike"``): each somatic spike's bAP reaches the dendrite with
probability kappa (one draw at the spike); the bAP current (2600 pA) is on from 0.5 to
2.5 ms after a gated spike (steps 5..25 at dt 0.1 ms, both inclusive, overlapping bAPs do
not add), kept as a 26-bit spike-history integer shifted once per step; the burst flag is
drawn each step as ``v_d >= -30 mV and rand() < kappa``. kappa is a state: a thalamic
spike of weight w raises it, kappa += (1 - kappa) min(w, 1), and it relaxes to
kappa_rest with tau 800 ms.

PV (BASKET, Izhikevich & Edelman 2008 SI Table 1) and SOM (LTS, Izhikevich 2007
ch. 8.2.5) cells, Izhikevich 2007 simple model, same semi-implicit scheme::

    C dv/dt = k (v - vr)(v - vt) - u + sum_x g_x (E_x - v),   du/dt = a (b (v - vr) - u)
    spike at v >= vpeak + vpeak_u u:  u' = min(u + d, u_max),
                                      v <- min(c + c_u u, vpeak + vpeak_u u' - 10 mV)

(the last term is l5sim's documented reset guard, which binds for the LTS cell only
above u = 579 pA).

Synapses
--------
Instantaneous rise, exponential decay, g += w x receptor scale on arrival; AMPA tau 6 ms,
E 0 mV; NMDA tau 100 ms, E 0 mV, Mg block B(v) = x^2 / (1 + x^2), x = (v + 80) / 60
(Izhikevich & Edelman 2008), capped at 85 nS on the pyramidal soma; GABA_A tau 6 ms,
E -75 mV (Whyte et al. 2025). Conductances decay by exp(-dt / tau) after each update.

Timing: l5sim adds a spike emitted in step t into the conductances read in step
t + delay. In Brian2 a synapse's ``on_pre`` runs in the ``synapses`` slot, after that
step's state update, so the Brian2 delay is (delay - 1) dt: the increment lands after
step t + delay - 1 and is read by step t + delay. The reset runs in
``after_thresholds``, before the synapses slot, so that a spike's gate draw sees the
kappa of its own step, as in l5sim.

Drive: background Poisson inputs, drawn per cell and step as ``poisson(rate dt)`` events
of weight w at the start of the step (as l5sim does); the thalamic population is a
PoissonGroup; the dendritic DC drive a constant current.

Wiring (the same rules, drawn by Brian2's own generator): cells evenly on a ring of
radius 1 (angle 2 pi i / n), arc distance; ``gaussian_prob``: each pair (no autapses
within a population) with probability p0 (n_ref / n_pre) exp(-d^2 / 2 sigma^2), drawn as
Bernoulli(p0 n_ref / n_pre) candidates (``sample``) thinned by the Gaussian;
``pocket``: thalamic cell i drives pyramidal cells i K .. i K + K - 1 with
K = floor(pocket_fraction n_pyr / n_th); delay = delay_steps + round(d delay_per_distance).
Sizes: every population n times ``scale``, rounded half up (``circuit.scale``).

Not modelled because the column does not use them (an error is raised if the TOML asks
for them): white-noise inputs, GABA_B, the LVPA per-step gate, plasticity, neuromodulation.
"""
from __future__ import annotations

import math
import os

#: LVPA pyramidal cell (Whyte et al. 2025; l5sim.models.l5pyramidal.L5PyramidalParams).
LVPA = dict(C=150.0, k=2.5, vr=-75.0, vt=-45.0, vpeak=50.0, a=0.01, b=5.0, c_reg=-65.0, d_reg=250.0,
            c_burst=-55.0, d_burst=150.0, dg_ad=0.065, tau_ad=2000.0, E_ad=-80.0, nmda_cap=85.0,
            Cd=170.0, EL=-70.0, gL=170.0 / 7.0, gCa=1200.0, Ehalf=-38.0, Dd=6.0, tau_w=30.0, bd=-13.0,
            plateau=-30.0, bap=2600.0, bap_start_ms=0.5, bap_stop_ms=2.5, tau_kappa=800.0, gs=0.0, G=0.0)
#: Izhikevich 2007 simple-model presets (l5sim.models.izhikevich).
IZH2007 = {
    # Izhikevich & Edelman 2008, SI Table 1, basket cell
    "BASKET": dict(C=20.0, k=1.0, vr=-55.0, vt=-40.0, vpeak=25.0, a=0.15, b=8.0, c=-55.0, d=200.0,
                   vpeak_u=0.0, c_u=0.0, u_max=1e30),
    # Izhikevich 2007, ch. 8.2.5, Fig. 8.25, low-threshold spiking cell
    "LTS": dict(C=100.0, k=1.0, vr=-56.0, vt=-42.0, vpeak=40.0, a=0.03, b=8.0, c=-53.0, d=20.0,
                vpeak_u=-0.1, c_u=0.04, u_max=670.0),
}
#: l5sim's reset guard margin (mV; l5sim.models.izhikevich, a tuned assumption).
RESET_MARGIN = 10.0
#: Receptors: tau (ms), E (mV), Mg block (l5sim.models.synapses, Whyte et al. 2025).
RECEPTORS = {"AMPA": (6.0, 0.0, False), "NMDA": (100.0, 0.0, True), "GABA_A": (6.0, -75.0, False)}
SHORT = {"AMPA": "A", "NMDA": "N", "GABA_A": "G"}

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLUMN_TOML = os.path.join(ROOT, "circuits", "l5_column.toml")


class Unsupported(Exception):
    """The TOML asks for something this peer does not implement."""


def load(path: str = COLUMN_TOML) -> dict:
    import tomllib

    with open(path, "rb") as f:
        return tomllib.load(f)


def sizes(data: dict, scale: float) -> dict:
    """Population sizes at ``scale`` (l5sim's rule: n scale rounded half up, at least 1)."""
    return {p: max(1, int(math.floor(t["n"] * scale + 0.5))) for p, t in data["populations"].items()}


def scale_for(data: dict, n_total: int) -> float:
    """The ``circuit.scale`` that makes the column about ``n_total`` cells."""
    return n_total / sum(t["n"] for t in data["populations"].values())


def _check(data: dict) -> None:
    for name, inp in data.get("inputs", {}).items():
        if inp.get("kind") not in ("poisson", "current"):
            raise Unsupported(f"inputs.{name}.kind = {inp.get('kind')!r}")
    for name, pw in data.get("pathways", {}).items():
        if pw.get("plasticity"):
            raise Unsupported(f"pathways.{name}.plasticity")
        for r in pw.get("receptors", {}):
            if r not in RECEPTORS:
                raise Unsupported(f"pathways.{name}.receptors.{r}")
        rule = pw.get("connectivity", {}).get("rule")
        if rule not in ("gaussian_prob", "pocket"):
            raise Unsupported(f"pathways.{name}.connectivity.rule = {rule!r}")
    for k in ("plasticity", "neuromodulation", "modulators"):
        if data.get(k):
            raise Unsupported(k)
    for name, pop in data["populations"].items():
        if pop.get("model") == "l5_pyramidal" and pop.get("params", {}).get("gate", "per_spike") != "per_spike":
            raise Unsupported(f"populations.{name}.params.gate")


def _mg(x: str) -> str:
    return f"((({x}) + 80.0) / 60.0)**2 / (1.0 + ((({x}) + 80.0) / 60.0)**2)"


def build(b2, data: dict, scale: float, dt_ms: float):
    """Create every group and synapse; returns (objects, groups, monitors, synapses)."""
    _check(data)
    n = sizes(data, scale)
    pops = data["populations"]
    inputs = data.get("inputs", {})
    groups, objects, mons, syns = {}, [], {}, []
    two_pi = 2.0 * math.pi
    for name, pop in pops.items():
        model = pop["model"]
        size = n[name]
        if model == "poisson":
            g = b2.PoissonGroup(size, rates=float(pop["rate_hz"]) * b2.Hz, name=name)
            groups[name] = g
            mons[name] = b2.SpikeMonitor(g, record=False, name=f"{name}_spikes")
            objects += [g, mons[name]]
            continue
        # this population's background Poisson drive and DC currents, by compartment
        drive = {"s": [], "d": []}
        dc = {"s": 0.0, "d": 0.0}
        for iname, inp in inputs.items():
            if inp["population"] != name:
                continue
            comp = "d" if inp.get("compartment", "soma") == "dendrite" else "s"
            if inp["kind"] == "current":
                dc[comp] += float(inp["amplitude_pA"])
            else:
                lam = float(inp["rate_hz"]) * dt_ms * 1e-3
                for r, sc in inp.get("receptors", {"AMPA": 1.0}).items():
                    drive[comp].append((lam, float(inp.get("weight", 1.0)) * float(sc), f"g{SHORT[r]}{comp}"))
        if model == "l5_pyramidal":
            p = dict(LVPA)
            prm = pop.get("params", {})
            kap0 = float(prm.get("kappa", 1.0))
            kap_rest = float(prm.get("kappa_rest", 0.0))
            state = prm.get("kappa_mode", "fixed") == "state"
            start = int(round(p["bap_start_ms"] / dt_ms))
            stop = int(round(p["bap_stop_ms"] / dt_ms))
            hist_mod = 2 ** (stop + 1)
            eqs = """
            v : 1
            u : 1
            vd : 1
            wd : 1
            gad : 1
            kap : 1
            burst : 1
            hist : integer
            nspk : integer
            nburst : integer
            gAs : 1
            gNs : 1
            gGs : 1
            gAd : 1
            gNd : 1
            gGd : 1
            theta : 1 (constant)
            """
            pois = "".join(f"{var} += {w!r} * poisson({lam!r})\n" for comp in "sd" for lam, w, var in drive[comp])
            code = pois + f"""
            hist = (hist * 2) % {hist_mod}
            kc = clip(kap, 0.0, 1.0)
            Fd = 1.0 / (1.0 + exp(({p['Ehalf']!r} - vd) / {p['Dd']!r}))
            I_bap = {p['bap']!r} * int((hist // {2 ** start}) > 0)
            gNs_b = clip(gNs * {_mg('v')}, 0.0, {p['nmda_cap']!r})
            gt = gAs + gNs_b + gGs + gad
            gE = {RECEPTORS['GABA_A'][1]!r} * gGs + {p['E_ad']!r} * gad
            gNd_b = gNd * {_mg('vd')}
            gtd = gAd + gNd_b + gGd
            gEd = {RECEPTORS['GABA_A'][1]!r} * gGd
            rest_d = -{p['gL']!r} * (vd - {p['EL']!r}) + {p['gCa']!r} * Fd + wd + I_bap + {dc['d']!r} + {p['G']!r} * (v - vd)
            wd_new = wd + ({p['bd']!r} * (vd - {p['EL']!r}) - wd) * {dt_ms / p['tau_w']!r}
            vd = (vd + {dt_ms / p['Cd']!r} * (rest_d + gEd)) / (1.0 + {dt_ms / p['Cd']!r} * gtd)
            wd = wd_new
            burst = int(vd >= {p['plateau']!r}) * int(rand() < kc)
            {'kap = ' + repr(kap_rest) + ' + (kap - ' + repr(kap_rest) + ') * ' + repr(math.exp(-dt_ms / p['tau_kappa'])) if state else ''}
            gad = gad * {math.exp(-dt_ms / p['tau_ad'])!r}
            drive_s = {p['k']!r} * (v - {p['vr']!r}) * (v - {p['vt']!r}) - u + {dc['s']!r} + {p['gs']!r} * Fd
            v_new = (v + {dt_ms / p['C']!r} * (drive_s + gE)) / (1.0 + {dt_ms / p['C']!r} * gt)
            u = u + {dt_ms * p['a']!r} * ({p['b']!r} * (v - {p['vr']!r}) - u)
            v = v_new
            gAs = gAs * {math.exp(-dt_ms / 6.0)!r}
            gNs = gNs * {math.exp(-dt_ms / 100.0)!r}
            gGs = gGs * {math.exp(-dt_ms / 6.0)!r}
            gAd = gAd * {math.exp(-dt_ms / 6.0)!r}
            gNd = gNd * {math.exp(-dt_ms / 100.0)!r}
            gGd = gGd * {math.exp(-dt_ms / 6.0)!r}
            """
            reset = f"""
            v = {p['c_reg']!r} + burst * ({p['c_burst'] - p['c_reg']!r})
            u = u + {p['d_reg']!r} + burst * ({p['d_burst'] - p['d_reg']!r})
            gad = gad + {p['dg_ad']!r}
            hist = hist + int(rand() < clip(kap, 0.0, 1.0))
            nspk = nspk + 1
            nburst = nburst + int(burst)
            """
            g = b2.NeuronGroup(size, eqs, threshold=f"v >= {p['vpeak']!r}", reset=reset, name=name)
            init = pop.get("init", {})
            vd0 = float(init.get("vd_mV", p["EL"]))
            g.v = f"{float(init.get('v_mV', p['vr']))!r} + {float(init.get('v_sd_mV', 0.0))!r} * randn()"
            g.u = f"{p['b']!r} * (v - {p['vr']!r})"
            g.vd = vd0
            g.wd = p["bd"] * (vd0 - p["EL"])
            g.kap = kap0
        elif model == "izhikevich2007":
            p = IZH2007[pop["preset"]]
            eqs = """
            v : 1
            u : 1
            nspk : integer
            gAs : 1
            gNs : 1
            gGs : 1
            theta : 1 (constant)
            """
            if drive["d"] or dc["d"]:
                raise Unsupported(f"dendritic input to point population {name}")
            pois = "".join(f"{var} += {w!r} * poisson({lam!r})\n" for lam, w, var in drive["s"])
            code = pois + f"""
            gNs_b = gNs * {_mg('v')}
            gt = gAs + gNs_b + gGs
            gE = {RECEPTORS['GABA_A'][1]!r} * gGs
            drive_s = {p['k']!r} * (v - {p['vr']!r}) * (v - {p['vt']!r}) - u + {dc['s']!r}
            v_new = (v + {dt_ms / p['C']!r} * (drive_s + gE)) / (1.0 + {dt_ms / p['C']!r} * gt)
            u = u + {dt_ms * p['a']!r} * ({p['b']!r} * (v - {p['vr']!r}) - u)
            v = v_new
            gAs = gAs * {math.exp(-dt_ms / 6.0)!r}
            gNs = gNs * {math.exp(-dt_ms / 100.0)!r}
            gGs = gGs * {math.exp(-dt_ms / 6.0)!r}
            """
            reset = f"""
            u_n = clip(u + {p['d']!r}, -1e30, {p['u_max']!r})
            v = clip({p['c']!r} + {p['c_u']!r} * u, -1e30, {p['vpeak'] - RESET_MARGIN!r} + {p['vpeak_u']!r} * u_n)
            u = u_n
            nspk = nspk + 1
            """
            g = b2.NeuronGroup(size, eqs, threshold=f"v >= {p['vpeak']!r} + {p['vpeak_u']!r} * u", reset=reset,
                               name=name)
            init = pop.get("init", {})
            g.v = f"{float(init.get('v_mV', p['vr']))!r} + {float(init.get('v_sd_mV', 0.0))!r} * randn()"
            g.u = f"{p['b']!r} * (v - {p['vr']!r})"
        else:
            raise Unsupported(f"populations.{name}.model = {model!r}")
        g.theta = f"{two_pi!r} * i / {size}"
        g.run_regularly(code, dt=dt_ms * b2.ms, when="groups", name=f"{name}_update")
        g.resetter["spike"].when = "after_thresholds"
        groups[name] = g
        objects.append(g)
        mons[name] = b2.SpikeMonitor(g, record=False, name=f"{name}_spikes")
        objects.append(mons[name])
    for pname, pw in data["pathways"].items():
        pre, post = groups[pw["pre"]], groups[pw["post"]]
        conn = pw["connectivity"]
        target = pw.get("target", "soma")
        comp = "d" if target == "dendrite" else "s"
        if target == "gate":
            on_pre = "kap_post += (1.0 - kap_post) * clip(w, 0.0, 1.0)"
        else:
            on_pre = "; ".join(f"g{SHORT[r]}{comp}_post += w * {float(sc)!r}"
                               for r, sc in pw.get("receptors", {"AMPA": 1.0}).items())
        S = b2.Synapses(pre, post, "w : 1", on_pre=on_pre, name=pname)
        same = pw["pre"] == pw["post"]
        n_pre, n_post = n[pw["pre"]], n[pw["post"]]
        if conn["rule"] == "gaussian_prob":
            q = float(conn["p0"]) * (float(conn["n_ref"]) / n_pre if conn.get("n_ref") else 1.0)
            if q > 1.0:
                raise Unsupported(f"pathways.{pname}: p0 n_ref / n_pre = {q:.3g} > 1 at this scale")
            arc = f"({math.pi!r} - abs({math.pi!r} - abs(theta_pre - theta_post)))"
            cond = f"rand() < exp(-0.5 * ({arc} / {float(conn['sigma'])!r})**2)"
            if same and not conn.get("autapses", False):
                cond = f"k != i and {cond}"
            S.connect(j=f"k for k in sample(N_post, p={q!r}) if {cond}")
        else:  # pocket: the smaller population's cell i drives K consecutive cells of the other
            big, small = max(n_pre, n_post), min(n_pre, n_post)
            K = int(math.floor(float(conn.get("pocket_fraction", 0.0)) * big / small + 1e-9)) \
                if conn.get("pocket_fraction") else int(conn.get("pocket_size", 1))
            if n_pre > n_post:
                raise Unsupported(f"pathways.{pname}: pocket from the larger population")
            S.connect(j=f"k for k in range(i * {K}, (i + 1) * {K})")
            arc = None
        S.w = float(conn.get("weight", 1.0))
        d0 = int(pw.get("delay_steps", 1))
        per_d = float(pw.get("delay_per_distance", 0.0))
        if d0 < 1:
            raise Unsupported(f"pathways.{pname}.delay_steps = {d0} (< 1)")
        if per_d and arc is not None:
            S.delay = f"({d0 - 1} + floor({arc} * {per_d!r} + 0.5)) * {dt_ms!r} * ms"
        else:
            S.delay = (d0 - 1) * dt_ms * b2.ms
        syns.append(S)
        objects.append(S)
    return objects, groups, mons, syns, n
