"""NGM-SGD: fixed point, equivalence with SGD, order of operations, state dict."""
import io
import math

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from torch.nn import functional as F  # noqa: E402

from l5sim.ann.gain import GainLinear, GainMLP, attach_gains  # noqa: E402
from l5sim.ann.optim import NGMSGD, batch_entropy  # noqa: E402
from l5sim.errors import L5SimError  # noqa: E402

# float32 gain recursion over ~200 steps: relative error well under 1e-5.
FIXED_POINT_RTOL = 1e-5


def _data(n=64, d=12, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def test_gain_converges_to_fixed_point_under_constant_entropy():
    model = GainMLP((4, 3, 2))
    gamma, g0, eta, h = 0.9, 1.0, 0.4, math.log(10)
    opt = NGMSGD(model.weight_parameters(), model.gains(), lr=0.0, gamma=gamma, g0=g0, eta=eta)
    for _ in range(300):
        opt.update_gains()
        opt.step(entropy=h)
    expected = g0 + eta * h / (1 - gamma)
    assert expected == pytest.approx(10.21, abs=0.01)  # science.md section 7: "about 10.2"
    for g in model.gains():
        assert torch.allclose(g, torch.full_like(g, expected), rtol=FIXED_POINT_RTOL)
    assert opt.fixed_point(h) == pytest.approx(expected)


def test_first_update_keeps_g0_and_uses_previous_entropy():
    model = GainMLP((4, 3, 2), g0=1.0)
    opt = NGMSGD(model.weight_parameters(), model.gains(), lr=0.0, gamma=0.9, g0=1.0, eta=0.5)
    opt.update_gains()  # H_prev = 0 at start
    assert torch.all(model.gains()[0] == 1.0)
    opt.step(entropy=2.0)
    assert torch.all(model.gains()[0] == 1.0)  # step never touches g
    opt.update_gains()
    assert model.gains()[0][0].item() == pytest.approx(0.9 + 0.1 + 0.5 * 2.0)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_eta0_g01_matches_torch_sgd_exactly(momentum):
    x, y = _data()
    torch.manual_seed(3)
    a = GainMLP((12, 16, 5))
    b = GainMLP((12, 16, 5))
    b.load_state_dict(a.state_dict())
    opt_a = NGMSGD(a.weight_parameters(), a.gains(), lr=0.05, eta=0.0, g0=1.0, momentum=momentum)
    opt_b = torch.optim.SGD(b.weight_parameters(), lr=0.05, momentum=momentum)
    for i in range(20):
        xb, yb = x[(i * 8) % 64:(i * 8) % 64 + 8], y[(i * 8) % 64:(i * 8) % 64 + 8]
        opt_a.zero_grad()
        opt_a.update_gains()
        la = a(xb)
        F.cross_entropy(la, yb).backward()
        opt_a.step(logits=la)
        opt_b.zero_grad()
        F.cross_entropy(b(xb), yb).backward()
        opt_b.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_evaluation_never_changes_gain_and_closure_path():
    x, y = _data()
    model = GainMLP((12, 8, 5))
    opt = NGMSGD(model.weight_parameters(), model.gains(), lr=0.01, eta=0.5)

    def closure():
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        return loss, logits

    loss = opt.step(closure)
    assert torch.is_tensor(loss)
    with torch.no_grad():
        h = float(batch_entropy(model(x)))
    assert opt.entropy_prev == pytest.approx(h, rel=1e-3)  # weights moved a little since
    before = [g.clone() for g in model.gains()]
    model.eval()
    with torch.no_grad():
        for _ in range(5):
            model(x)
    assert all(torch.equal(b, g) for b, g in zip(before, model.gains()))
    opt.step(closure)
    assert not torch.equal(before[0], model.gains()[0])


def test_order_errors():
    model = GainMLP((4, 3, 2))
    opt = NGMSGD(model.weight_parameters(), model.gains(), lr=0.01, eta=0.5)
    with pytest.raises(L5SimError, match="update_gains\\(\\) was not called"):
        opt.step(entropy=1.0)
    opt.update_gains()
    with pytest.raises(L5SimError, match="already called"):
        opt.update_gains()
    with pytest.raises(L5SimError, match="neither logits nor entropy"):
        opt.step()
    with pytest.raises(L5SimError, match="gamma"):
        NGMSGD(model.weight_parameters(), model.gains(), gamma=1.0)


def test_entropy_is_natural_log_over_all_outputs():
    assert float(batch_entropy(torch.zeros(3, 10))) == pytest.approx(math.log(10), rel=1e-6)


def test_state_dict_round_trip():
    x, y = _data()
    torch.manual_seed(0)
    m1 = GainMLP((12, 8, 5))
    o1 = NGMSGD(m1.weight_parameters(), m1.gains(), lr=0.02, eta=0.3, momentum=0.5)
    for _ in range(3):
        o1.zero_grad()
        o1.update_gains()
        lg = m1(x)
        F.cross_entropy(lg, y).backward()
        o1.step(logits=lg)
    buf = io.BytesIO()
    torch.save({"model": m1.state_dict(), "opt": o1.state_dict()}, buf)  # weights_only-safe
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    m2 = GainMLP((12, 8, 5))
    o2 = NGMSGD(m2.weight_parameters(), m2.gains(), lr=0.5, eta=0.0)
    m2.load_state_dict(saved["model"])
    o2.load_state_dict(saved["opt"])
    assert o2.entropy_prev == o1.entropy_prev and o2.iteration == 3
    assert o2.param_groups[-1]["eta"] == 0.3 and o2.param_groups[0]["lr"] == 0.02
    for m, o in ((m1, o1), (m2, o2)):
        o.zero_grad()
        o.update_gains()
        lg = m(x)
        F.cross_entropy(lg, y).backward()
        o.step(logits=lg)
    for p1, p2 in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(p1, p2)


def test_attach_gains_head_only_and_chain_rule():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    x = torch.randn(5, 6)
    ref = net(x).detach()
    gains = attach_gains(net, "head")
    assert len(gains) == 1 and isinstance(net[2], GainLinear) and not isinstance(net[0], GainLinear)
    assert torch.allclose(net(x), ref)  # g = 1 changes nothing
    gains[0].fill_(2.0)
    bias = net[2].bias.detach()
    assert torch.allclose(net(x) - bias, 2.0 * (ref - bias), atol=1e-6)
