"""Execute notebooks/bridge_to_ann.ipynb end to end (kernel python3)."""
import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytestmark = [pytest.mark.notebooks, pytest.mark.torch]

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "notebooks", "bridge_to_ann.ipynb")
# Generous wall-clock limit per cell on a shared 2-core machine (the whole notebook takes ~20 s).
CELL_TIMEOUT_S = 300


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "gamma" in text and "ngm-sgd-bridge" in text
