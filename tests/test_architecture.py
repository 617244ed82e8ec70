"""Structure of the code: layers import only downward; kernels see one set of types."""
import ast
from pathlib import Path

import numba
import pytest

import l5sim

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
    "simulation": {"errors", "kernels", "recording", "builder", "__init__"},
    "recording": {"analysis", "_io"},
    "analysis": set(),
    "plotting": {"analysis", "recording"},
    "experiments": {"analysis", "builder", "errors", "simulation", "spec", "recording"},
    "neighbours": {"analysis", "builder", "errors", "experiments", "simulation", "spec"},
    "column_stdp": {"builder", "errors", "simulation", "spec"},
    # the sweep runs the public verbs (build, simulate, save_recording) from the package top
    "sweep": {"_io", "analysis", "errors", "experiments", "spec", "recording", "plotting", "__init__", "build", "simulate",
              "save_recording"},
}


def _l5_imports(path: Path):
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1:
                parts = (node.module or "").split(".")
                if node.level == 2 or path.parent != PKG:
                    # from the kernels/ or models/ subpackage upward
                    top = parts[0] if parts[0] else "__init__"
                    if path.parent.name in ("kernels", "models") and node.level == 1:
                        top = path.parent.name
                else:
                    top = parts[0] if parts[0] else "__init__"
                    if not parts[0]:
                        top = "__init__" if not node.names else None
                        for alias in node.names:
                            out.add(alias.name)
                        continue
                out.add(top)
            elif node.module and node.module.startswith("l5sim"):
                out.add(node.module.split(".")[1] if "." in node.module else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("l5sim."):
                    out.add(alias.name.split(".")[1])
    return out


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
        types.add(numba.typeof(net))
    assert len(types) == 1


def test_help_does_not_import_numerics():
    import subprocess
    import sys

    code = ("import sys; from l5sim.cli import make_parser; make_parser(); "
            "print(','.join(m for m in ('numba', 'matplotlib', 'scipy', 'torch', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"l5sim --help imports {out}"
