"""MkDocs hooks of the API reference site (``mkdocs.yml``; ``mkdocs build --strict``).

- The circuit TOML schema is generated from the frozen dataclasses of ``l5sim/spec/``
  (and the parameter records of ``l5sim/models``) at build time, never copied by hand: a
  page holding the marker ``<!-- l5sim:schema -->`` gets one table per TOML table with
  each key's type, default, allowed values or range, and its documentation.
- The figures of the measured reports in ``docs/`` (``docs/**/*.png``) are copied into the
  site under the same paths (``docs/figures/x.png``), so that the README, included as the
  home page, shows its figure, and ``<!-- l5sim:figures -->`` becomes a gallery of them.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_MARK = "<!-- l5sim:schema -->"
FIGURES_MARK = "<!-- l5sim:figures -->"


# ---- the TOML schema ----------------------------------------------------------------------
def _attr_docs(cls) -> dict:
    """``name : text`` entries of a class docstring's Attributes section (numpydoc)."""
    doc = (cls.__doc__ or "").splitlines()
    out, cur = {}, None
    for line in doc:
        m = re.match(r"^\s{4}(\w+) : (.*)$", line)
        if m:
            cur = m.group(1)
            out[cur] = m.group(2).strip()
        elif cur and line.startswith("        ") and line.strip():
            out[cur] += " " + line.strip()
        elif not line.strip():
            cur = None
    return out


def _type_name(tp) -> str:
    s = tp if isinstance(tp, str) else getattr(tp, "__name__", None) or repr(tp)
    s = str(s).replace("typing.", "").replace("collections.abc.", "")
    return {"str": "string", "float": "number", "int": "integer", "bool": "boolean"}.get(s, s)


def _default(f) -> str:
    if f.default is not dataclasses.MISSING:
        v = f.default
    elif f.default_factory is not dataclasses.MISSING:
        v = f.default_factory()
        if dataclasses.is_dataclass(v):
            return "(table)"
    else:
        return "**required**"
    if isinstance(v, str):
        return f'`"{v}"`' if v else '`""`'
    if v is None:
        return "unset"
    if isinstance(v, (dict, tuple, list)) and not v:
        return "empty"
    return f"`{v!r}`"


def _allowed(md) -> str:
    from l5sim.spec.fields import describe_bounds

    parts = []
    if md.get("choices"):
        parts.append(", ".join(f"`{c}`" for c in md["choices"]))
    rng = describe_bounds(md)
    if rng:
        parts.append(rng)
    return "; ".join(parts)


def _esc(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _table(heading: str, cls, note: str = "") -> str:
    hints = typing.get_type_hints(cls)
    docs = _attr_docs(cls)
    first = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    rows = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        md = dict(f.metadata)
        doc = md.get("doc") or docs.get(f.name, "")
        rows.append(f"| `{f.name}` | {_esc(_type_name(hints.get(f.name, f.type)))} | {_esc(_default(f))} | "
                    f"{_esc(_allowed(md))} | {_esc(doc)} |")
    text = f"### `{heading}`\n\n{_esc(first)}{(' ' + note) if note else ''}\n\n" + "\n".join(rows) + "\n"
    return text


def _param_table(title: str, cls, preset_name: str, preset=None) -> str:
    rows = ["| parameter | default |", "|---|---|"]
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            rows.append(f"| `{f.name}` | `{f.default!r}` |")
        elif preset is not None and hasattr(preset, f.name):
            rows.append(f"| `{f.name}` | `{getattr(preset, f.name)!r}` (preset `{preset_name}`) |")
        else:
            rows.append(f"| `{f.name}` | required |")
    return (f"### `params` of `{title}`\n\nFields of `{cls.__module__}.{cls.__name__}`, overridable one by one "
            f"under `[populations.NAME.params]`; defaults as in the record (presets, e.g. `{preset_name}`, "
            "replace some of them):\n\n" + "\n".join(rows) + "\n")


def schema_markdown() -> str:
    """Markdown tables of every TOML table of a circuit file, from ``l5sim.spec``."""
    from l5sim import plasticity, spec
    from l5sim import neuromodulation as nm

    parts = [
        _table("[circuit]", spec.CircuitMeta),
        _table("[space]", spec.Space),
        _table("[receptors.NAME]", spec.ReceptorSpec, f"NAME is one of {', '.join(spec.RECEPTOR_KEYS)}."),
        _table("[populations.NAME]", spec.PopulationSpec),
        _table("[populations.NAME.init]", spec.InitSpec),
        _table("[pathways.NAME]", spec.PathwaySpec),
        _table("[pathways.NAME.connectivity]", spec.ConnectivitySpec),
        _table("[inputs.NAME]", spec.InputSpec),
        _table("[recording]", spec.RecordingSpec),
        _table("[recording.traces.POPULATION]", spec.TraceSpec,
               f"Variables: {', '.join(f'`{v}`' for v in spec.TRACE_VARIABLES)}."),
        _table("[plasticity.NAME]", plasticity.STDPRule,
               "Allowed values: " + "; ".join(f"`{k}` in {', '.join(v)}" for k, v in plasticity._CHOICES.items())
               + "."),
        _table("[modulators.NAME] pulses = [{...}]", nm.Pulse),
        _table("[modulators.NAME.trigger]", nm.Trigger),
    ]
    for model, cls in spec.PARAM_CLASS.items():
        name = spec.DEFAULT_PRESET.get(model, "")
        parts.append(_param_table(model, cls, name, spec.PRESETS.get(model, {}).get(name)))
    return "\n".join(parts)


# ---- figures from docs/ -----------------------------------------------------------------
def _figures() -> list[Path]:
    return sorted(p.relative_to(ROOT) for p in (ROOT / "docs").rglob("*.png"))


def _gallery() -> str:
    out = []
    for rel in _figures():
        out.append(f"### `{rel.as_posix()}`\n\n![{rel.stem}]({rel.as_posix()})\n")
    return "\n".join(out)


# ---- the hooks ----------------------------------------------------------------------------
def on_files(files, config):
    from mkdocs.structure.files import File

    for rel in _figures():
        files.append(File(rel.as_posix(), str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    if SCHEMA_MARK in markdown:
        markdown = markdown.replace(SCHEMA_MARK, schema_markdown())
    if FIGURES_MARK in markdown:
        markdown = markdown.replace(FIGURES_MARK, _gallery())
    return markdown
