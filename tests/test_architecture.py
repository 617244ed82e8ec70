"""Structure of the code: layers import only downward; kernels see one set of types."""
import ast
from pathlib import Path

import numba
import pytest

import l5sim

PKG = Path(l5sim.__file__).parent

# Each unit of the package (a top-level module or a subpackage) may import only the l5sim units
# listed (the one-way flow of style.md: spec -> build -> simulate -> recordings -> analysis ->
# plots / bridge; experiments and sweeps drive the pipeline; cli on top). Every unit must be
# listed (test_every_module_has_a_rule), so a new module cannot escape the check.
ALLOWED = {
    "__init__": set(),          # lazy names only, through importlib
    "__main__": {"cli"},
    "_numba_config": set(),
    "_io": {"errors"},
    "errors": set(),
    "kernels": {"_numba_config"},
    "models": set(),
    "spec": {"errors", "models", "plasticity", "neuromodulation"},
    "plasticity": {"errors"},
    "neuromodulation": {"errors"},
    "connectivity": {"errors", "kernels"},
    "wiring_cache": {"_io", "connectivity"},
    "builder": {"errors", "connectivity", "kernels", "models", "plasticity", "neuromodulation", "wiring_cache",
                "sizing"},
    "divergence": {"errors"},
    "sizing": {"errors"},
    "threads": {"errors"},
    "simulation": {"errors", "kernels", "recording", "builder", "threads", "__init__", "divergence", "sizing"},
    "recording": {"analysis", "_io"},
    "analysis": set(),
    # figures draw results they are given; fitted f-I curves are evaluated with the fits' models
    "plotting": {"_io", "analysis", "errors", "fits"},
    "fits": {"analysis", "errors"},
    "bridge": {"_io", "analysis", "errors", "fits"},
    # the ANN side reads bridge files and draws through plotting; it never simulates
    "ann": {"bridge", "errors", "fits", "plotting"},
    # export translates recordings (spec -> ... -> recording -> export); _io for atomic writes
    "export": {"_io", "recording"},
    "experiments": {"analysis", "builder", "errors", "simulation", "sizing", "spec", "recording"},
    "neighbours": {"analysis", "builder", "errors", "experiments", "simulation", "spec"},
    "column_stdp": {"builder", "errors", "simulation", "spec"},
    # closed-loop trials over a simulation Session; the Go/No-Go case study on top of them
    "trials": {"errors"},
    "gonogo": {"_io", "builder", "errors", "simulation", "spec", "threads", "trials"},
    # the sweep runs the public verbs (build, simulate, save_recording) from the package top;
    # plotting only through the lazy l5sim.sweep.plot_sweep name
    "sweep": {"_io", "analysis", "errors", "experiments", "sizing", "spec", "recording", "plotting", "threads", "__init__"},
    # cli on top: thin glue over the public API of every layer
    "cli": {"__init__", "ann", "analysis", "column_stdp", "errors", "experiments", "export", "gonogo", "neighbours",
            "plotting",
            "recording", "spec", "sweep", "_io"},
}

# Layers inside subpackages: each module may import only the listed siblings.
INTERNAL = {
    "sweep": {"plan": set(), "store": {"plan"}, "tables": {"plan", "store"}, "worker": {"store"},
              "backends": {"store", "worker"}, "run": {"backends", "plan", "store", "tables", "worker"},
              "__init__": {"backends", "plan", "run", "store", "tables"}},
    "plotting": {"style": set(), "labels": set(), "raster": {"labels", "style"}, "gain": {"labels", "style"},
                 "neighbours": {"labels", "style"}, "stdp": {"labels", "style"}, "scaling": {"labels", "style"},
                 "sweep": {"labels", "style"}, "stability_gap": {"labels", "style"},
                 "primer": {"labels", "style"}, "performance": {"style"}, "gonogo": {"labels", "style"}},
    "cli": {"common": set(), "run": {"common"}, "experiments": {"common"}, "neighbours": {"common"},
            "sweep": {"common"}, "export": {"common"}, "gonogo": {"common"},
            "__init__": {"experiments", "export", "gonogo", "neighbours", "run", "sweep"}},
}
#: ``from module import _name`` across modules that predate the rule, in code another engineer
#: is rewriting (issue 12 item 1: kernels become one unit per model); nothing else may be added.
PRIVATE_IMPORT_EXCEPTIONS = {
    ("kernels/point.py", "l5sim.kernels.engine._lower_bound"),
    ("kernels/point.py", "l5sim.kernels.rng._S9"), ("kernels/point.py", "l5sim.kernels.rng._S14"),
    ("kernels/point.py", "l5sim.kernels.rng._S28"), ("kernels/point.py", "l5sim.kernels.rng._S36"),
    ("kernels/point.py", "l5sim.kernels.rng._S55"), ("kernels/point.py", "l5sim.kernels.rng._normal_slow"),
}


def _units():
    """The units of the package: its top-level modules and subpackages, by name."""
    return {p.stem for p in PKG.glob("*.py")} | {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}


def _resolve(path: Path, node) -> list[str]:
    """Absolute dotted names an import node of ``path`` refers to (l5sim ones only)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "l5sim" or a.name.startswith("l5sim.")]
    if node.level == 0:
        if node.module != "l5sim" and not (node.module or "").startswith("l5sim."):
            return []
        base = node.module
    else:
        package = ["l5sim"] + list(path.relative_to(PKG).parent.parts)
        base = ".".join(package[:len(package) - (node.level - 1)] + ([node.module] if node.module else []))
    # ``from X import name``: name is a submodule of X or a name defined in X
    return [f"{base}.{a.name}" for a in node.names]


def _unit(name: str, units) -> str:
    """``l5sim.sweep.store.x`` -> ``sweep``; a name defined in ``l5sim/__init__`` -> ``__init__``."""
    parts = name.split(".")
    if name == "l5sim.__version__":
        return "__version__"          # the version string: any module may read it
    return parts[1] if len(parts) > 1 and parts[1] in units else "__init__"


def _l5_imports(path: Path):
    """The units of l5sim that ``path`` imports (anywhere in the file, lazily or not)."""
    units = _units()
    tree = ast.parse(path.read_text())
    return {_unit(n, units) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for n in _resolve(path, node)}


def _unit_paths(unit: str) -> list:
    return [PKG / f"{unit}.py"] if (PKG / f"{unit}.py").exists() else sorted((PKG / unit).rglob("*.py"))


def test_every_module_has_a_rule():
    units = _units()
    assert units - set(ALLOWED) == set(), f"modules without a layer rule: {sorted(units - set(ALLOWED))}"
    assert set(ALLOWED) - units == set(), f"rules for modules that do not exist: {sorted(set(ALLOWED) - units)}"


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_lower_layers_never_import_upper_ones(module):
    paths = _unit_paths(module)
    assert paths, module
    for path in paths:
        found = _l5_imports(path) - {module, None}
        extra = found - ALLOWED[module] - {"__version__"}
        assert not extra, f"{path.relative_to(PKG)} imports {sorted(extra)}; allowed: {sorted(ALLOWED[module])}"


@pytest.mark.parametrize("package", sorted(INTERNAL))
def test_subpackage_layers(package):
    rules = INTERNAL[package]
    for path in sorted((PKG / package).glob("*.py")):
        assert path.stem in rules or package == "plotting" and path.stem == "__init__", \
            f"{package}/{path.name} has no rule in INTERNAL"
        if path.stem not in rules:
            continue
        tree = ast.parse(path.read_text())
        siblings = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _resolve(path, node):
                    parts = name.split(".")
                    if parts[:2] == ["l5sim", package] and len(parts) > 2 and (PKG / package / f"{parts[2]}.py").exists():
                        siblings.add(parts[2])
        extra = siblings - rules[path.stem] - {path.stem}
        assert not extra, f"{package}/{path.name} imports {sorted(extra)}; allowed: {sorted(rules[path.stem])}"


def _private_imports(path: Path, src: str | None = None):
    """``(file, l5sim.module._name)`` for every ``from module import _name`` of another module."""
    tree = ast.parse(path.read_text() if src is None else src)
    own = ".".join(["l5sim", *path.relative_to(PKG).with_suffix("").parts]).removesuffix(".__init__")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias, name in zip(node.names, _resolve(path, node)):
                module = name.rsplit(".", 1)[0]
                if alias.name.startswith("_") and not alias.name.startswith("__") and module != own:
                    out.add((str(path.relative_to(PKG)), name))
    return out


def test_no_private_imports_across_modules():
    """A module uses only the public names of another (a leading underscore means "mine")."""
    found = set().union(*(_private_imports(p) for p in sorted(PKG.rglob("*.py"))))
    extra = found - PRIVATE_IMPORT_EXCEPTIONS
    assert not extra, f"private names imported from other modules: {sorted(extra)}"


def test_the_import_checks_can_fail():
    """The resolver sees relative, absolute and lazy imports, and the private-name rule fires."""
    fake = PKG / "plotting" / "probe.py"          # resolved as if it sat in l5sim/plotting/
    src = ("from ..simulation import simulate\n"
           "from .style import _hidden\n"
           "def f():\n    from l5sim.recording import _json_default\n    import l5sim.sweep.store\n")
    names = [n for node in ast.walk(ast.parse(src)) if isinstance(node, (ast.Import, ast.ImportFrom))
             for n in _resolve(fake, node)]
    assert names == ["l5sim.simulation.simulate", "l5sim.plotting.style._hidden", "l5sim.recording._json_default",
                     "l5sim.sweep.store"]
    assert {_unit(n, _units()) for n in names} == {"simulation", "plotting", "recording", "sweep"}
    assert _private_imports(fake, src) == {("plotting/probe.py", "l5sim.plotting.style._hidden"),
                                           ("plotting/probe.py", "l5sim.recording._json_default")}


def test_one_import_style():
    """Within the package, l5sim modules import each other relatively (``from .x import y``)."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if path.relative_to(PKG).parts[0] == "ann":      # engineer ann's rewrite; follows on its merge
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("l5sim"):
                bad.append(f"{path.relative_to(PKG)}:{node.lineno} from {node.module}")
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "l5sim" for a in node.names):
                bad.append(f"{path.relative_to(PKG)}:{node.lineno} import l5sim")
    assert not bad, bad


def test_kernels_import_nothing_but_numba_config():
    for path in (PKG / "kernels").glob("*.py"):
        src = path.read_text()
        for line in src.splitlines():
            if line.startswith("from .."):
                assert line.startswith("from .._numba_config import"), f"{path.name}: {line}"


def test_bundled_circuits_share_one_kernel_signature():
    """One compilation serves every bundled circuit (no per-circuit recompiles)."""
    types = set()
    for path in sorted(Path("circuits").glob("*.toml")):
        net = l5sim.build(l5sim.load_circuit(path), seed=0).net
        types.add(numba.typeof(net))
    assert len(types) == 1


def test_help_does_not_import_numerics():
    import subprocess
    import sys

    code = ("import sys; from l5sim.cli import make_parser; make_parser(); "
            "print(','.join(m for m in ('numpy', 'numba', 'matplotlib', 'scipy', 'torch', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"l5sim --help imports {out}"
