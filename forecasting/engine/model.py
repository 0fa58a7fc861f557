"""The multimodal forecaster: text branch, bidirectional text-image attention, temporal encoder, quantile head.

Notation (one product): words ``w_1..w_n`` (name + description tokens, padding masked), image regions
``r_1..r_m`` (``m = 49`` for a 7x7 ResNet grid at 224 px).

Text branch:   ``t_i = LN(W_t E[w_i])``             (E: word embeddings over the catalog vocabulary)
Image branch:  ``v_j = LN(W_v r_j)``                (r_j: frozen ResNet region vector; W_v projects to width d)
               items with no (loadable) image use ``v_j = v_none`` (a learned vector) for every j.

Bidirectional attention (our reading of the paper's equation 3, which does not say over which index the
softmax is taken for each direction nor how the two directions are pooled):

    e_ij      = <t_i, v_j>                                   (raw dot product, as in the paper)
    a_ij      = softmax_j(e_ij)      text-to-image: word i's weights over regions, sum_j a_ij = 1
    b_ij      = softmax_i(e_ij)      image-to-text: region j's weights over words, sum_i b_ij = 1
                                     (padding words get e_ij = -inf, so they receive no weight)
    vt_i      = sum_j a_ij v_j       image context gathered by word i
    tv_j      = sum_i b_ij t_i       text context gathered by region j
    u_text    = masked_mean_i [t_i ; vt_i]
    u_image   = mean_j [v_j ; tv_j]
    z         = ReLU(W_f [u_text ; u_image] + b_f)           the fused product vector (width d_f)

The "concat" ablation replaces the attention by ``z = ReLU(W_f [mean_i t_i ; mean_j v_j] + b_f)``.

Temporal model: the per-day features x_t (scaled per series, see data.DYNAMIC_FEATURES) are joined with the
static vector s = [z ; category embedding ; log(scale) ; has_image] at every step and run through a (Bi)LSTM
(30 cells by default), GRU or Transformer encoder; the context c is the final hidden state(s).
Head (direct, all 45 days at once): for each horizon step h with known calendar features k_h (day of week,
month, holiday) and a learned horizon embedding p_h:

    g_h   = MLP([c ; s ; k_h ; p_h])  -> (mu_h, alpha_h, beta_h)
    p50_h = mu_h,   p10_h = mu_h - softplus(alpha_h),   p90_h = mu_h + softplus(beta_h)

so p10 <= p50 <= p90 always (in scaled units; predictions are then multiplied by the series scale and clipped
at 0, which keeps the order).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class TextEncoder(nn.Module):
    def __init__(self, vocab_size: int, emb_dim: int, width: int):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb_dim, padding_idx=0)
        self.proj = nn.Linear(emb_dim, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens):  # (B, L) -> (B, L, d), mask (B, L)
        mask = tokens > 0
        return self.norm(self.proj(self.emb(tokens))), mask


class BiAttentionFusion(nn.Module):
    """Bidirectional text-image attention; see the module docstring for the equations."""

    def __init__(self, width: int, out_dim: int):
        super().__init__()
        self.out = nn.Linear(4 * width, out_dim)

    def forward(self, t, tmask, v, return_weights: bool = False):
        # t: (B, L, d), tmask: (B, L) bool, v: (B, R, d)
        e = torch.einsum("bld,brd->blr", t, v)                      # e_ij
        neg = torch.finfo(e.dtype).min
        has_word = tmask.any(1)                                      # items with empty text
        tm = tmask | (~has_word)[:, None]                            # avoid all -inf columns
        a = torch.softmax(e, dim=2)                                  # over regions j
        b = torch.softmax(e.masked_fill(~tm[:, :, None], neg), dim=1)  # over words i
        vt = torch.einsum("blr,brd->bld", a, v)                      # image context per word
        tv = torch.einsum("blr,bld->brd", b, t)                      # text context per region
        w = (tmask.float() * has_word[:, None].float()).unsqueeze(-1)
        u_text = (torch.cat([t, vt], -1) * w).sum(1) / w.sum(1).clamp_min(1.0)
        u_img = torch.cat([v, tv], -1).mean(1)
        z = F.relu(self.out(torch.cat([u_text, u_img], -1)))
        if return_weights:
            return z, a, b
        return z


class ConcatFusion(nn.Module):
    def __init__(self, width: int, out_dim: int):
        super().__init__()
        self.out = nn.Linear(2 * width, out_dim)

    def forward(self, t, tmask, v, return_weights: bool = False):
        w = tmask.float().unsqueeze(-1)
        u_text = (t * w).sum(1) / w.sum(1).clamp_min(1.0)
        z = F.relu(self.out(torch.cat([u_text, v.mean(1)], -1)))
        return (z, None, None) if return_weights else z


class ForecastNet(nn.Module):
    def __init__(self, cfg: dict, vocab_size: int, n_categories: int, n_dyn: int, n_cal: int, img_channels: int):
        super().__init__()
        self.cfg = cfg
        d = cfg.fusion_width
        self.use_text = cfg.use_text
        self.use_image = cfg.use_image
        self.multimodal = self.use_text or self.use_image
        fused = cfg.fused_dim if self.multimodal else 0
        if self.multimodal:
            self.text = TextEncoder(vocab_size, cfg.word_dim, d)
            self.img_proj = nn.Linear(img_channels, d)
            self.img_norm = nn.LayerNorm(d)
            self.no_image = nn.Parameter(torch.randn(d) * 0.1)
            self.no_text = nn.Parameter(torch.randn(d) * 0.1)
            self.fusion = (BiAttentionFusion if cfg.fusion == "attention" else ConcatFusion)(d, fused)
        cat_dim = cfg.category_dim
        self.cat_emb = nn.Embedding(max(1, n_categories), cat_dim)
        self.static_dim = fused + cat_dim + 2
        H = cfg.hidden
        kind = cfg.temporal
        in_dim = n_dyn + self.static_dim
        self.dropout = nn.Dropout(cfg.dropout)
        if kind in ("lstm", "bilstm"):
            self.rnn = nn.LSTM(in_dim, H, batch_first=True, bidirectional=(kind == "bilstm"))
            ctx = H * (2 if kind == "bilstm" else 1)
        elif kind == "gru":
            self.rnn = nn.GRU(in_dim, H, batch_first=True)
            ctx = H
        elif kind == "transformer":
            dm = cfg.transformer_dim
            self.inp = nn.Linear(in_dim, dm)
            self.pos = nn.Parameter(torch.randn(cfg.window, dm) * 0.02)
            layer = nn.TransformerEncoderLayer(dm, cfg.transformer_heads, 2 * dm, cfg.dropout, batch_first=True)
            self.rnn = nn.TransformerEncoder(layer, cfg.transformer_layers)
            ctx = dm
        else:
            raise ValueError(f"unknown temporal model {kind!r}")
        self.kind = kind
        hz = cfg.horizon
        self.h_emb = nn.Embedding(hz, 8)
        self.head = nn.Sequential(nn.Linear(ctx + self.static_dim + n_cal + 8, cfg.head_hidden), nn.ReLU(),
                                  nn.Dropout(cfg.dropout), nn.Linear(cfg.head_hidden, 3))

    def product_vector(self, tokens, regions, has_image, return_weights=False):
        t, tmask = self.text(tokens)
        if not self.use_text:
            t = self.no_text.expand(t.shape[0], 1, -1)
            tmask = torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
        if self.use_image:
            v = self.img_norm(self.img_proj(regions))
            v = torch.where(has_image[:, None, None], v, self.no_image.expand_as(v))
        else:
            v = self.no_image.expand(t.shape[0], 1, -1)
        return self.fusion(t, tmask, v, return_weights=return_weights)

    def forward(self, x, cal, tokens, regions, has_image, category, log_scale):
        """x (B, W, n_dyn), cal (B, Hz, n_cal) -> (B, Hz, 3) = (p10, p50, p90) in scaled units."""
        B, W, _ = x.shape
        parts = []
        if self.multimodal:
            parts.append(self.product_vector(tokens, regions, has_image))
        parts += [self.cat_emb(category), log_scale[:, None], has_image.float()[:, None]]
        s = self.dropout(torch.cat(parts, -1))
        seq = torch.cat([x, s[:, None, :].expand(B, W, s.shape[-1])], -1)
        if self.kind == "transformer":
            hseq = self.rnn(self.inp(seq) + self.pos[:W])
            c = hseq[:, -1]
        else:
            _, hn = self.rnn(seq)
            if isinstance(hn, tuple):
                hn = hn[0]
            c = torch.cat([hn[i] for i in range(hn.shape[0])], -1)  # both directions for a BiLSTM
        c = self.dropout(c)
        Hz = cal.shape[1]
        hid = torch.arange(Hz, device=x.device)
        z = torch.cat([c[:, None, :].expand(B, Hz, c.shape[-1]), s[:, None, :].expand(B, Hz, s.shape[-1]), cal,
                       self.h_emb(hid)[None].expand(B, Hz, -1)], -1)
        o = self.head(z)
        mu = o[..., 0]
        lo = mu - F.softplus(o[..., 1])
        hi = mu + F.softplus(o[..., 2])
        return torch.stack([lo, mu, hi], -1)


def pinball(pred, y, qs=(0.1, 0.5, 0.9), mask=None):
    losses = []
    for k, q in enumerate(qs):
        d = y - pred[..., k]
        losses.append(torch.maximum(q * d, (q - 1) * d))
    loss = torch.stack(losses, -1).sum(-1)
    if mask is not None:
        return (loss * mask).sum() / mask.sum().clamp_min(1.0)
    return loss.mean()


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


_ = math  # keep import for docs tools
