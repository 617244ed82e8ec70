"""docs/gonogo.md is exactly what scripts/render_gonogo.py makes of the committed results
(docs/results/gonogo/): no number on the page is typed in by hand."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gonogo_page_is_rendered_from_the_committed_results():
    spec = importlib.util.spec_from_file_location("render_gonogo", ROOT / "scripts" / "render_gonogo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    page = mod.main((ROOT / "docs" / "results" / "gonogo").resolve())
    assert page == (ROOT / "docs" / "gonogo.md").read_text(), (
        "docs/gonogo.md differs from its rendering: run `python scripts/render_gonogo.py > docs/gonogo.md`")
