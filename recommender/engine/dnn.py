"""The deep neural network recommender.

Two towers, trained jointly with a sampled softmax over the catalog:

* item tower: item-id embedding (dropped out during training so new items live on content) + category embedding +
  price-band embedding + mean word embedding of name and description (bag of words) + projected image features
  when given -> MLP -> item vector ``g(i)``, plus a per-item bias (popularity).
* user tower: user-id embedding (dropped out during training so anonymous sessions work) + the weighted mean of
  ``g`` over the user's last ``history_len`` events (weights: event type x recency) + history length -> MLP ->
  user vector ``f(u)``.
* score(u, i) = <f(u), g(i)> + b_i + r * log(1 + c(u, i)), where c(u, i) is the weighted count of item i in
  the user's history and r a learned scalar (shoppers re-buy and revisit; the towers alone cannot express
  "this exact item again").

Every training example is one logged event (view, cart or purchase) predicted from the user's other training
events ("leave one out": the user's ``history_len`` heaviest items, weighted by event type and recency at the
cutoff, minus the target event itself), weighted by event type and by recency relative to the cutoff. Serving
uses the same history, so training and serving see the same kind of user representation; nothing after the
cutoff is ever part of it. The softmax is over the target and a
shared set of ``n_negatives`` items drawn uniformly each batch (the whole catalog when it is smaller), with
accidental hits masked.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch
from torch import nn

from mlcore.device import pick_device

from .config import Config
from .data import Encoded
from .features import ItemContent
from .sequences import DAY, Sequences, event_weight_array


class TwoTower(nn.Module):
    def __init__(self, n_users: int, n_items: int, n_categories: int, n_bands: int, n_words: int,
                 image_dim: int, cfg: Config):
        super().__init__()
        d, h = cfg.dim, cfg.hidden
        self.item_id = nn.Embedding(n_items, d)
        self.category = nn.Embedding(max(n_categories, 1), d // 2)
        self.band = nn.Embedding(max(n_bands, 1), 8)
        self.words = nn.EmbeddingBag(max(n_words, 1), d // 2, mode="sum", padding_idx=0)
        self.image = nn.Linear(image_dim, d // 2) if image_dim else None
        in_item = d + d // 2 + 8 + d // 2 + (d // 2 if image_dim else 0)
        self.item_mlp = nn.Sequential(nn.Linear(in_item, h), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(h, d))
        self.item_bias = nn.Embedding(n_items, 1)
        self.user_id = nn.Embedding(n_users, d)
        self.user_mlp = nn.Sequential(nn.Linear(2 * d + 1, h), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(h, d))
        self.repeat = nn.Parameter(torch.tensor(1.0))
        for emb in (self.item_id, self.category, self.band, self.user_id):
            nn.init.normal_(emb.weight, std=0.05)
        nn.init.normal_(self.words.weight, std=0.05)
        nn.init.zeros_(self.item_bias.weight)

    def item_vectors(self, items: torch.Tensor, content: dict, id_dropout: float = 0.0) -> torch.Tensor:
        ids = items
        if self.training and id_dropout > 0:
            ids = torch.where(torch.rand(items.shape, device=items.device) < id_dropout, torch.zeros_like(items), items)
        tok = content["tokens"][items]
        n_tok = (tok > 0).sum(1, keepdim=True).clamp(min=1).float()
        parts = [self.item_id(ids), self.category(content["category"][items]), self.band(content["band"][items]),
                 self.words(tok) / n_tok.sqrt()]
        if self.image is not None:
            parts.append(self.image(content["image"][items]))
        return self.item_mlp(torch.cat(parts, 1))

    def user_vectors(self, users, hist_vecs, hist_w, id_dropout: float = 0.0) -> torch.Tensor:
        """hist_vecs (B, L, d) item vectors of the history, hist_w (B, L) weights (0 = padding)."""
        if self.training and id_dropout > 0:
            users = torch.where(torch.rand(users.shape, device=users.device) < id_dropout, torch.zeros_like(users), users)
        wsum = hist_w.sum(1, keepdim=True)
        pooled = (hist_vecs * hist_w.unsqueeze(2)).sum(1) / wsum.clamp(min=1e-6)
        n_hist = torch.log1p((hist_w > 0).sum(1, keepdim=True).float())
        return self.user_mlp(torch.cat([self.user_id(users), pooled, n_hist], 1))


def _content_tensors(content: ItemContent, device) -> dict:
    out = {
        "category": torch.as_tensor(content.category, device=device),
        "band": torch.as_tensor(content.price_band, device=device),
        "tokens": torch.as_tensor(content.tokens, device=device),
    }
    if content.image is not None:
        out["image"] = torch.as_tensor(content.image, device=device)
    return out


def _repeat_counts(hist_items, hist_w, cand, dense_ok: bool, n_items: int):
    """c(b, j): weighted count of candidate item cand[j] in example b's history. hist (B, L); cand (N,)."""
    if dense_ok:
        dense = torch.zeros(hist_items.shape[0], n_items, device=hist_items.device)
        dense.scatter_add_(1, hist_items, hist_w)
        dense[:, 0] = 0
        return dense[:, cand]
    eq = hist_items.unsqueeze(2) == cand.view(1, 1, -1)
    return (eq * hist_w.unsqueeze(2)).sum(1)


class DNNModel:
    """Trains and serves the two-tower network. Pure torch + numpy; knows nothing of item / user id strings."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.net: TwoTower | None = None
        self.device = pick_device(cfg.device)

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, enc: Encoded, content: ItemContent, progress=None, verbose: bool | None = None, epoch_hook=None):
        """``epoch_hook(model, epoch)`` (benchmarks: early stopping on validation) runs after each epoch with the
        network in eval mode and item vectors cached."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        dev = self.device
        self.n_items, self.n_users = enc.n_items, enc.n_users
        image_dim = 0 if content.image is None else content.image.shape[1]
        self.net = TwoTower(enc.n_users, enc.n_items, content.n_categories, content.n_bands, content.n_words,
                            image_dim, cfg).to(dev)
        self.content = _content_tensors(content, dev)
        seq = Sequences(enc)
        self.seq = seq
        self.t_end = enc.t_end
        ew = event_weight_array(cfg.event_weights)
        n = len(seq.u)
        w_ex = ew[seq.e] * np.power(0.5, (enc.t_end - seq.t) / (cfg.half_life_days * DAY))
        w_ex = (w_ex / w_ex.mean()).astype(np.float32)
        # leave-one-out user histories: the user's top-L items over all training events, minus the target event
        self._build_histories()
        w_hist_ev = self._event_hist_weight(seq.e, seq.t)
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        n_neg = min(cfg.n_negatives, enc.n_items - 1)
        full = n_neg >= enc.n_items - 1
        dense_ok = enc.n_items <= 20000
        self.losses = []
        use_bar = sys.stderr.isatty() if verbose is None else verbose
        bar = None
        if use_bar:
            from tqdm import tqdm

            bar = tqdm(total=cfg.epochs, desc="recommender", unit="epoch", file=sys.stderr)
        all_items = torch.arange(1, enc.n_items, device=dev)
        for epoch in range(cfg.epochs):
            self.net.train()
            perm = rng.permutation(n)
            tot, cnt, t0 = 0.0, 0, time.time()
            for b0 in range(0, n, cfg.batch_size):
                pos = perm[b0: b0 + cfg.batch_size]
                hi = self.h_items[seq.u[pos]]
                hw = self.h_w[seq.u[pos]] - (hi == seq.i[pos][:, None]) * w_hist_ev[pos][:, None]
                hw = np.where(hw > 1e-6, hw, 0.0).astype(np.float32)
                if not cfg.repeat:
                    # serving never shows already-had items: learn "the next *new* item" only, i.e. drop repeat
                    # targets and take the user's other items out of the softmax (masked below)
                    new = ~((hi == seq.i[pos][:, None]) & (hw > 0)).any(1)
                    if not new.any():
                        continue
                    pos, hi, hw = pos[new], hi[new], hw[new]
                hist_items = torch.as_tensor(np.where(hw > 0, hi, 0), device=dev)
                hist_w = torch.as_tensor(hw, device=dev)
                users = torch.as_tensor(seq.u[pos], device=dev)
                target = torch.as_tensor(seq.i[pos], device=dev)
                cand = all_items if full else torch.as_tensor(rng.integers(1, enc.n_items, n_neg), device=dev)
                need = torch.unique(torch.cat([hist_items.flatten(), target, cand]))
                vecs = self.net.item_vectors(need, self.content, cfg.item_dropout)
                loc = lambda x: torch.searchsorted(need, x)  # noqa: E731
                hv = vecs[loc(hist_items)]
                uvec = self.net.user_vectors(users, hv, hist_w, cfg.user_dropout)
                tvec = vecs[loc(target)]
                cvec = vecs[loc(cand)]
                bias = self.net.item_bias.weight.squeeze(1)
                pos_logit = (uvec * tvec).sum(1) + bias[target] + self.net.repeat * torch.log1p(
                    (hist_w * (hist_items == target[:, None])).sum(1))
                rc = _repeat_counts(hist_items, hist_w, cand, dense_ok, enc.n_items)
                neg_logit = uvec @ cvec.T + bias[cand][None, :] + self.net.repeat * torch.log1p(rc)
                neg_logit = neg_logit.masked_fill(cand[None, :] == target[:, None], float("-inf"))
                if not cfg.repeat:
                    neg_logit = neg_logit.masked_fill(rc > 0, float("-inf"))
                logits = torch.cat([pos_logit[:, None], neg_logit], 1)
                ce = torch.logsumexp(logits, 1) - pos_logit
                wb = torch.as_tensor(w_ex[pos], device=dev)
                loss = (ce * wb).sum() / wb.sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += loss.item() * len(pos)
                cnt += len(pos)
            ep_loss = tot / max(cnt, 1)
            self.losses.append(ep_loss)
            if bar is not None:
                bar.set_postfix(loss=f"{ep_loss:.4f}")
                bar.update(1)
            if progress is not None:
                progress(epoch + 1, {"epochs": cfg.epochs, "train_loss": ep_loss, "loss": ep_loss,
                                     "seconds": time.time() - t0})
            if epoch_hook is not None:
                self.net.eval()
                self._cache_item_vectors()
                epoch_hook(self, epoch + 1)
        if bar is not None:
            bar.close()
        self.net.eval()
        self._cache_item_vectors()
        return self

    # -- serving ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _cache_item_vectors(self):
        self.net.eval()
        items = torch.arange(self.n_items, device=self.device)
        self.item_vecs = self.net.item_vectors(items, self.content)
        self.bias = self.net.item_bias.weight.squeeze(1).clone()
        self.bias[0] = float("-inf")

    @torch.no_grad()
    def score_histories(self, users: np.ndarray, hist_items: np.ndarray, hist_w: np.ndarray) -> np.ndarray:
        """Scores over the whole catalog (column 0 = unknown item, -inf). users (B,), hist (B, L)."""
        dev = self.device
        hi = torch.as_tensor(hist_items, device=dev, dtype=torch.long)
        hw = torch.as_tensor(hist_w, device=dev, dtype=torch.float32)
        u = torch.as_tensor(users, device=dev, dtype=torch.long)
        uvec = self.net.user_vectors(u, self.item_vecs[hi], hw)
        s = uvec @ self.item_vecs.T + self.bias[None, :]
        rep = torch.zeros(len(u), self.n_items, device=dev)
        rep.scatter_add_(1, hi, hw)
        rep[:, 0] = 0
        s = s + self.net.repeat * torch.log1p(rep)
        return s.cpu().numpy()

    def _event_hist_weight(self, e: np.ndarray, t: np.ndarray) -> np.ndarray:
        ew = event_weight_array(self.cfg.event_weights)
        return ew[e] * np.power(0.5, (self.t_end - t) / (self.cfg.history_half_life_days * DAY))

    def _build_histories(self):
        """Per user: the L items with the largest weight (event type x recency at the cutoff) and those weights."""
        import scipy.sparse as sp

        seq, L = self.seq, self.cfg.history_len
        w = self._event_hist_weight(seq.e, seq.t)
        M = sp.csr_matrix((w, (seq.u, seq.i)), shape=(self.n_users, self.n_items))
        M.sum_duplicates()
        self.h_items = np.zeros((self.n_users, L), np.int64)
        self.h_w = np.zeros((self.n_users, L), np.float32)
        for u in range(self.n_users):
            a, b = M.indptr[u], M.indptr[u + 1]
            if a == b:
                continue
            d, ix = M.data[a:b], M.indices[a:b]
            if len(d) > L:
                top = np.argpartition(-d, L - 1)[:L]
                d, ix = d[top], ix[top]
            self.h_items[u, : len(d)] = ix
            self.h_w[u, : len(d)] = d

    def known_user_histories(self, users: np.ndarray):
        return self.h_items[users], self.h_w[users]

    def score_users(self, users: np.ndarray) -> np.ndarray:
        hi, hw = self.known_user_histories(users)
        return self.score_histories(users, hi, hw)

    def score_sessions(self, histories: list, event: str = "view") -> np.ndarray:
        """histories: list of item-index lists (most recent last), for anonymous users; every item counts as one
        event of type ``event`` happening now."""
        w = float(self.cfg.event_weights.get(event, 1.0))
        L = self.cfg.history_len
        hi = np.zeros((len(histories), L), np.int64)
        hw = np.zeros((len(histories), L), np.float32)
        for r, h in enumerate(histories):
            h = [x for x in h if x > 0][-L:]
            if h:
                hi[r, L - len(h):] = h
                hw[r, L - len(h):] = w
        return self.score_histories(np.zeros(len(histories), np.int64), hi, hw)

    @torch.no_grad()
    def item_embeddings(self) -> np.ndarray:
        return self.item_vecs.cpu().numpy()

    # -- state ------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "weights": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "n_items": self.n_items, "n_users": self.n_users, "t_end": self.t_end,
            "seq": {"u": self.seq.u, "i": self.seq.i, "t": self.seq.t, "e": self.seq.e},
            "losses": list(self.losses),
        }

    @classmethod
    def from_state(cls, cfg: Config, state: dict, content: ItemContent) -> "DNNModel":
        m = cls(cfg)
        m.n_items, m.n_users, m.t_end = state["n_items"], state["n_users"], state["t_end"]
        m.losses = state["losses"]
        image_dim = 0 if content.image is None else content.image.shape[1]
        m.net = TwoTower(m.n_users, m.n_items, content.n_categories, content.n_bands, content.n_words, image_dim, cfg)
        m.net.load_state_dict(state["weights"])
        m.net.to(m.device).eval()
        m.content = _content_tensors(content, m.device)
        s = state["seq"]
        enc = Encoded(item_ids=[None] * m.n_items, user_ids=[None] * m.n_users, u=np.asarray(s["u"]),
                      i=np.asarray(s["i"]), t=np.asarray(s["t"]), e=np.asarray(s["e"]), q=np.ones(len(s["u"])),
                      t_end=m.t_end)
        m.seq = Sequences(enc)
        m._build_histories()
        m._cache_item_vectors()
        return m


def softmax_np(s: np.ndarray) -> np.ndarray:
    s = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


__all__ = ["DNNModel", "TwoTower", "pick_device", "softmax_np"]


def _score(self, users: np.ndarray, histories: list | None = None) -> np.ndarray:
    """Common scorer interface of the benchmark: known users, or explicit histories (sessions)."""
    if histories is None:
        return self.score_users(users)
    return self.score_sessions(histories)


DNNModel.score = _score
