"""Structure of the code: layers import only downward; kernels see one set of types."""
import ast
from pathlib import Path

import numba
import pytest

import l5sim
from l5sim.kernels import engine as E

PKG = Path(l5sim.__file__).parent

# Each module may import only the l5sim modules listed (the one-way flow of style.md:
# spec -> build -> simulate -> recordings -> analysis -> plots / bridge; cli on top).
ALLOWED = {
    "_numba_config": set(),
    "errors": set(),
    "kernels": {"_numba_config"},
    "models": {"models"},
    "spec": {"errors", "models", "plasticity", "neuromodulation"},
    "plasticity": {"errors"},
    "neuromodulation": {"errors"},
    "connectivity": {"errors", "kernels"},
    "_io": set(),
    "wiring_cache": {"_io", "connectivity"},
    "builder": {"errors", "connectivity", "kernels", "models", "plasticity", "neuromodulation", "wiring_cache"},
    "threads": {"errors"},
    "simulation": {"errors", "kernels", "recording", "builder", "threads", "__init__"},
    "recording": {"analysis", "_io"},
    "analysis": set(),
    "plotting": {"_io", "analysis", "errors"},
    "experiments": {"analysis", "builder", "errors", "simulation", "spec", "recording"},
    "neighbours": {"analysis", "builder", "errors", "experiments", "simulation", "spec"},
    "column_stdp": {"builder", "errors", "simulation", "spec"},
    # the sweep runs the public verbs (build, simulate, save_recording) from the package top
    "sweep": {"_io", "analysis", "errors", "experiments", "spec", "recording", "plotting", "threads", "__init__"},
    # cli on top: thin glue over the public API of every layer
    "cli": {"__init__", "ann", "analysis", "column_stdp", "errors", "experiments", "neighbours", "plotting", "recording",
            "spec", "sweep"},
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


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_lower_layers_never_import_upper_ones(module):
    paths = [PKG / f"{module}.py"] if (PKG / f"{module}.py").exists() else sorted((PKG / module).glob("*.py"))
    assert paths, module
    for path in paths:
        found = _l5_imports(path) - {module, None}
        extra = found - ALLOWED[module] - {"__version__"}
        assert not extra, f"{path.name} imports {sorted(extra)}; allowed: {sorted(ALLOWED[module])}"


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
        types.add(tuple(numba.typeof(getattr(net, f)) for f in E.Net._fields))
    assert len(types) == 1


def test_help_does_not_import_numerics():
    import subprocess
    import sys

    code = ("import sys; from l5sim.cli import make_parser; make_parser(); "
            "print(','.join(m for m in ('numpy', 'numba', 'matplotlib', 'scipy', 'torch', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"l5sim --help imports {out}"
