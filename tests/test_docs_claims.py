"""docs/claims.md is exactly what scripts/render_claims.py makes of the committed results
(docs/results/, docs/bridge/): no number on the page is typed in by hand."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_claims_page_is_rendered_from_the_committed_results():
    spec = importlib.util.spec_from_file_location("render_claims", ROOT / "scripts" / "render_claims.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    page = mod.main((ROOT / "docs" / "results").resolve())
    assert page == (ROOT / "docs" / "claims.md").read_text(), (
        "docs/claims.md differs from its rendering: run `python scripts/render_claims.py docs/results > docs/claims.md`")
