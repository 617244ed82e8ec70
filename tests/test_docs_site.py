"""The API reference site's sources (mkdocs.yml, site_docs/, scripts/docs_hooks.py) are
complete: the generated TOML schema names every key the loader accepts, every public module
has a reference page in the navigation, and every figure of docs/ reaches the site. CI
builds the site itself with ``mkdocs build --strict`` (.ci/run); these checks need no mkdocs.
"""
import dataclasses
import importlib.util
import re
import typing
from pathlib import Path

import pytest

import l5sim
from l5sim import neuromodulation, plasticity, spec

ROOT = Path(__file__).resolve().parents[1]
PKG = Path(l5sim.__file__).parent


def _hooks():
    s = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    return mod


def _spec_classes():
    """Every dataclass a circuit file fills, found by walking CircuitSpec's field types."""
    seen, todo = [], [spec.CircuitSpec]
    while todo:
        cls = todo.pop()
        for tp in typing.get_type_hints(cls).values():
            for arg in (tp, *typing.get_args(tp)):
                if dataclasses.is_dataclass(arg) and arg not in seen and arg is not spec.CircuitSpec:
                    seen.append(arg)
                    todo.append(arg)
    return seen


def test_schema_page_has_a_row_for_every_key_the_loader_accepts():
    md = _hooks().schema_markdown()
    classes = _spec_classes() + [plasticity.STDPRule, neuromodulation.Pulse, neuromodulation.Trigger]
    classes += list(spec.PARAM_CLASS.values())
    assert spec.PopulationSpec in classes and spec.ConnectivitySpec in classes and spec.TraceSpec in classes
    missing = [f"{c.__name__}.{f.name}" for c in classes for f in dataclasses.fields(c)
               if not f.name.startswith("_") and not re.search(rf"\| `{re.escape(f.name)}` \|", md)]
    assert not missing, f"keys absent from the generated schema: {missing}"
    # constraints and defaults come from the field metadata, e.g. dt_ms > 0 and <= 10, default 0.1
    row = next(line for line in md.splitlines() if line.startswith("| `dt_ms` |"))
    assert "`0.1`" in row and "> 0.0" in row and "<= 10.0" in row, row


def test_every_public_module_has_a_reference_page_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.name: p.read_text() for p in (ROOT / "site_docs" / "reference").glob("*.md")}
    for name in pages:
        assert f"reference/{name}" in nav, f"site_docs/reference/{name} is not in mkdocs.yml's nav"
    shown = " ".join(pages.values())
    public = [p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_")]
    public += [p.name for p in PKG.iterdir() if (p / "__init__.py").exists()]
    missing = [m for m in public if f"::: l5sim.{m}\n" not in shown]
    assert not missing, f"public modules without a reference page: {missing}"


def test_every_figure_of_docs_reaches_the_site(tmp_path):
    hooks = _hooks()
    figures = hooks._figures()
    assert Path("docs/figures/column_scaling.png") in figures
    gallery = hooks._gallery()
    for rel in figures:
        assert f"]({rel.as_posix()})" in gallery
    pytest.importorskip("mkdocs")
    from mkdocs.structure.files import Files

    files = hooks.on_files(Files([]), {"site_dir": str(tmp_path), "use_directory_urls": True})
    assert sorted(f.src_uri for f in files) == sorted(p.as_posix() for p in figures)


def _griffe_ext():
    s = importlib.util.spec_from_file_location("docs_griffe", ROOT / "scripts" / "docs_griffe.py")
    mod = importlib.util.module_from_spec(s)
    pytest.importorskip("griffe")
    s.loader.exec_module(mod)
    return mod


def test_rst_in_docstrings_becomes_markdown():
    g = _griffe_ext()
    assert g.sphinx_roles_to_code("see :func:`l5sim.build` and :class:`~l5sim.recording.Recording`.") == \
        "see `l5sim.build` and `Recording`."
    rst = "intro\n\n=====  =========\nkey    content\n=====  =========\n``a``  first\n       continued\n``b``  second\n" \
          "=====  =========\n\nafter"
    assert g.rst_tables_to_markdown(rst) == ("intro\n\n| key | content |\n|---|---|\n| ``a`` | first continued |\n"
                                             "| ``b`` | second |\n\nafter")
    # a lone rule (no table) is left alone
    assert g.rst_tables_to_markdown("x\n=====  ===\ny") == "x\n=====  ===\ny"
