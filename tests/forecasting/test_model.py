"""Network shapes, attention normalisation, quantile order."""
import torch

from forecasting.engine import api
from forecasting.engine import data as D
from forecasting.engine.model import BiAttentionFusion, ForecastNet


def _net(**kw):
    cfg = api.make_config({"window": 20, "horizon": 9, "hidden": 6, "fusion_width": 8, "fused_dim": 8,
                           "word_dim": 8, "head_hidden": 12, **kw})
    torch.manual_seed(0)
    return ForecastNet(cfg, 50, 4, len(D.DYNAMIC_FEATURES), len(D.CALENDAR_FEATURES), 16), cfg


def _batch(B=5, W=20, H=9, R=4, C=16):
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(2, 50, (B, 7), generator=g)
    tokens[0, 3:] = 0           # padding
    tokens[1] = 0               # no text at all
    has_image = torch.tensor([True, False, True, True, False])[:B]
    return (torch.randn(B, W, len(D.DYNAMIC_FEATURES), generator=g), torch.randn(B, H, len(D.CALENDAR_FEATURES)),
            tokens, torch.randn(B, R, C, generator=g), has_image, torch.tensor([0, 1, 2, 3, 1])[:B],
            torch.zeros(B))


def test_output_shape_and_quantile_order():
    for temporal in ("bilstm", "lstm", "gru", "transformer"):
        for fusion in ("attention", "concat"):
            net, _ = _net(temporal=temporal, fusion=fusion)
            out = net(*_batch())
            assert out.shape == (5, 9, 3)
            assert (out[..., 0] <= out[..., 1]).all() and (out[..., 1] <= out[..., 2]).all()
    net, _ = _net(use_image=False, use_text=False)
    assert net(*_batch()).shape == (5, 9, 3)


def test_attention_weights_sum_to_one_and_respect_padding():
    fusion = BiAttentionFusion(8, 8)
    t = torch.randn(3, 6, 8)
    tmask = torch.ones(3, 6, dtype=torch.bool)
    tmask[0, 4:] = False
    v = torch.randn(3, 49, 8)
    z, a, b = fusion(t, tmask, v, return_weights=True)
    assert z.shape == (3, 8)
    assert a.shape == (3, 6, 49) and b.shape == (3, 6, 49)
    assert torch.allclose(a.sum(2), torch.ones(3, 6), atol=1e-5)       # text-to-image: over regions
    assert torch.allclose(b.sum(1), torch.ones(3, 49), atol=1e-5)      # image-to-text: over words
    assert b[0, 4:].abs().max() == 0                                   # padding words get no weight


def test_product_vector_handles_no_image_and_no_text():
    net, _ = _net()
    x = _batch()
    z, a, b = net.product_vector(x[2], x[3], x[4], return_weights=True)
    assert torch.isfinite(z).all() and z.shape == (5, 8)
    # an item without an image ignores its (garbage) region features
    r2 = x[3].clone()
    r2[1] += 100.0
    z2 = net.product_vector(x[2], r2, x[4])
    assert torch.allclose(z[1], z2[1])
