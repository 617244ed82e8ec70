"""The README's plain-PyTorch NGM-SGD example runs as written and drives the gain as the paper says."""
import math
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_ngm_sgd_example_runs():
    text = README.read_text()
    m = re.search(r"NGM-SGD in plain PyTorch.*?```python\n(.*?)```", text, re.S)
    assert m, "README: the plain-PyTorch NGM-SGD example is missing"
    code = m.group(1)
    assert len(code.strip().splitlines()) <= 12
    torch.manual_seed(0)
    loader = [(torch.randn(16, 784), torch.randint(0, 10, (16,))) for _ in range(2)]
    ns = {"loader": loader}
    exec(compile(code, "README.md", "exec"), ns)
    opt = ns["opt"]
    # Two iterations from g = 1, H_prev = 0 (science.md section 7): g1 = 0.9 + 0.1 = 1 (no drive
    # yet), g2 = 1 + eta H1. The untrained net's logits are near 0, so every batch's entropy is
    # within a few hundredths of ln 10 (the maximum for 10 outputs): g2 = 1 + 0.4 ln 10 +- 0.02.
    h2 = opt.state_dict()["ngm"]["entropy_prev"]
    assert h2 == pytest.approx(math.log(10), abs=0.05)
    assert opt.mean_gain() == pytest.approx(1.0 + 0.4 * math.log(10), abs=0.02)
