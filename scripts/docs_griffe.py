"""Griffe extension of the API reference site: l5sim's docstrings are numpydoc with Sphinx
roles (``:func:`l5sim.build```); Markdown has no roles, so each role becomes inline code of
its target (``~a.b.C`` shows ``C``), and the text stays as written in the source."""
from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc|const|ref):`(~?)([^`]+)`")


def _plain(m: re.Match) -> str:
    target = m.group(2)
    return f"`{target.rsplit('.', 1)[-1]}`" if m.group(1) else f"`{target}`"


class SphinxRoles(griffe.Extension):
    """Replace Sphinx roles in every docstring by inline code."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and ":`" in obj.docstring.value:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
