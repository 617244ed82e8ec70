"""Griffe extension of the API reference site. l5sim's docstrings are numpydoc with a little
reStructuredText that Markdown does not have; the text stays as written in the source, and
for the site

- each Sphinx role (``:func:`l5sim.build```) becomes inline code of its target (``~a.b.C``
  shows ``C``);
- each RST simple table (columns framed by lines of ``=``) becomes a Markdown table.
"""
from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc|const|ref):`(~?)([^`]+)`")


_RULE = re.compile(r"^=+( +=+)+\s*$")


def _columns(rule: str):
    return [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]


def _cells(line: str, cols):
    out = []
    for k, (a, _) in enumerate(cols):
        b = cols[k + 1][0] if k + 1 < len(cols) else len(line)
        out.append(line[a:b].strip())
    return out


def rst_tables_to_markdown(text: str) -> str:
    """Rewrite RST simple tables (rule, header, rule, rows, rule) as Markdown tables; a row
    whose first cell is empty continues the row above."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if _RULE.match(lines[i]) and i + 2 < len(lines) and _RULE.match(lines[i + 2]):
            cols = _columns(lines[i])
            header = _cells(lines[i + 1], cols)
            rows, j = [], i + 3
            while j < len(lines) and not _RULE.match(lines[j]):
                if lines[j].strip():
                    cells = _cells(lines[j], cols)
                    if rows and not cells[0]:
                        rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
                    else:
                        rows.append(cells)
                j += 1
            if j == len(lines):        # no closing rule: not a table
                out.append(lines[i])
                i += 1
                continue
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(cols))
            out.extend("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows)
            i = j + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def sphinx_roles_to_code(text: str) -> str:
    """``:func:`a.b``` -> ```a.b```; ``:class:`~a.b.C``` -> ```C```."""
    return _ROLE.sub(_plain, text)


def _plain(m: re.Match) -> str:
    target = m.group(2)
    return f"`{target.rsplit('.', 1)[-1]}`" if m.group(1) else f"`{target}`"


class SphinxRoles(griffe.Extension):
    """Replace Sphinx roles by inline code and RST simple tables by Markdown tables."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is None:
            return
        text = obj.docstring.value
        if ":`" in text:
            text = sphinx_roles_to_code(text)
        if any(_RULE.match(line) for line in text.split("\n")):
            text = rst_tables_to_markdown(text)
        obj.docstring.value = text
