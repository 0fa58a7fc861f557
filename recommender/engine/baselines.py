"""Baselines of the benchmark, with the DNN's scorer interface.

Every model has ``fit(enc, content, epoch_hook=None)`` and ``score(users, histories=None) -> (B, n_items)``:
``users`` are user indices of the training data (0 = unknown); ``histories`` (lists of item indices, most
recent last) replace the user's training history for anonymous sessions. Column 0 (unknown item) is ignored.

* Popularity: event-weighted count over the last ``days`` before the cutoff.
* ItemKNN: cosine similarity of item columns of the user x item matrix, top ``neighbours`` per item; a user's
  score is the weighted sum of the similarities of the items in their history.
* BPRMF: matrix factorisation trained with the BPR pairwise loss and uniform negatives; sessions fold in as the
  mean of their items' factors.
* AdaBoost (the paper's baseline): scikit-learn AdaBoostClassifier of shallow trees on (user, item) features,
  trained to predict which items a user interacts with in the last ``label_days`` of the training period from
  features computed before it.
* GRU (the paper's RNN baseline): a GRU over the user's item sequence, next-item sampled softmax.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .data import Encoded
from .features import ItemContent
from .sequences import DAY, Sequences, event_weight_array

DEFAULT_EW = {"view": 0.2, "cart": 0.5, "purchase": 1.0}


def _hist_matrix(histories, n_items):
    rows, cols = [], []
    for r, h in enumerate(histories):
        rows += [r] * len(h)
        cols += list(h)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(histories), n_items))


class Popularity:
    def __init__(self, days: float = 30.0, event_weights=None, **_):
        self.days = days
        self.ew = event_weight_array(event_weights or DEFAULT_EW)

    def fit(self, enc: Encoded, content: ItemContent | None = None, epoch_hook=None):
        pop = np.zeros(enc.n_items)
        recent = enc.t >= enc.t_end - self.days * DAY if self.days else np.ones(len(enc.t), bool)
        np.add.at(pop, enc.i[recent], self.ew[enc.e[recent]])
        allp = np.zeros(enc.n_items)
        np.add.at(allp, enc.i, self.ew[enc.e])
        self.pop = (pop + 1e-3 * allp / max(allp.max(), 1)).astype(np.float32)
        return self

    def score(self, users, histories=None):
        n = len(users) if histories is None else len(histories)
        return np.tile(self.pop, (n, 1))


class ItemKNN:
    def __init__(self, neighbours: int = 100, event_weights=None, half_life_days: float = 0.0, **_):
        self.k = neighbours
        self.ew = event_weight_array(event_weights or DEFAULT_EW)
        self.half_life = half_life_days

    def fit(self, enc: Encoded, content=None, epoch_hook=None):
        w = self.ew[enc.e].astype(np.float64)
        X = sp.csr_matrix((w, (enc.u, enc.i)), shape=(enc.n_users, enc.n_items))
        X.sum_duplicates()
        B = X.copy()
        B.data = np.ones_like(B.data)
        C = (B.T @ B).tocsr().astype(np.float32)
        norms = np.sqrt(np.maximum(C.diagonal(), 1e-9))
        C = sp.diags(1 / norms) @ C @ sp.diags(1 / norms)
        C.setdiag(0)
        C = C.tocsr()
        C.eliminate_zeros()
        # keep the top-k neighbours per row
        rows, cols, vals = [], [], []
        for r in range(C.shape[0]):
            s, e = C.indptr[r], C.indptr[r + 1]
            if e == s:
                continue
            d, ix = C.data[s:e], C.indices[s:e]
            if len(d) > self.k:
                top = np.argpartition(-d, self.k - 1)[: self.k]
                d, ix = d[top], ix[top]
            rows += [r] * len(d)
            cols += list(ix)
            vals += list(d)
        self.S = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=C.shape)
        if self.half_life:
            w = w * np.power(0.5, (enc.t_end - enc.t) / (self.half_life * DAY))
        self.X = sp.csr_matrix((w.astype(np.float32), (enc.u, enc.i)), shape=(enc.n_users, enc.n_items))
        self.X.sum_duplicates()
        pop = np.asarray(B.sum(0)).ravel()
        self.tie = (1e-6 * pop / max(pop.max(), 1)).astype(np.float32)
        return self

    def score(self, users, histories=None):
        H = self.X[users] if histories is None else _hist_matrix(histories, self.S.shape[0])
        return np.asarray((H @ self.S).todense(), np.float32) + self.tie[None, :]


class BPRMF:
    def __init__(self, dim: int = 64, epochs: int = 30, lr: float = 0.01, reg: float = 1e-5, seed: int = 0,
                 batch_size: int = 4096, **_):
        self.dim, self.epochs, self.lr, self.reg, self.seed, self.bs = dim, epochs, lr, reg, seed, batch_size

    def fit(self, enc: Encoded, content=None, epoch_hook=None):
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        pairs = np.unique(np.stack([enc.u, enc.i], 1), axis=0)
        self.U = nn.Embedding(enc.n_users, self.dim)
        self.V = nn.Embedding(enc.n_items, self.dim)
        self.b = nn.Embedding(enc.n_items, 1)
        for e in (self.U, self.V):
            nn.init.normal_(e.weight, std=0.05)
        nn.init.zeros_(self.b.weight)
        params = list(self.U.parameters()) + list(self.V.parameters()) + list(self.b.parameters())
        opt = torch.optim.Adam(params, lr=self.lr)
        self.hist = sp.csr_matrix((np.ones(len(pairs), np.float32), (pairs[:, 0], pairs[:, 1])),
                                  shape=(enc.n_users, enc.n_items))
        for ep in range(self.epochs):
            perm = rng.permutation(len(pairs))
            for b0 in range(0, len(pairs), self.bs):
                p = pairs[perm[b0: b0 + self.bs]]
                u = torch.as_tensor(p[:, 0])
                i = torch.as_tensor(p[:, 1])
                j = torch.as_tensor(rng.integers(1, enc.n_items, len(p)))
                uu, vi, vj = self.U(u), self.V(i), self.V(j)
                x = (uu * (vi - vj)).sum(1) + self.b(i).squeeze(1) - self.b(j).squeeze(1)
                loss = -torch.nn.functional.logsigmoid(x).mean() + self.reg * (
                    uu.pow(2).sum() + vi.pow(2).sum() + vj.pow(2).sum()) / len(p)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if epoch_hook is not None:
                epoch_hook(self, ep + 1)
        return self

    @torch.no_grad()
    def score(self, users, histories=None):
        V = self.V.weight
        if histories is None:
            u = self.U.weight[torch.as_tensor(users)]
        else:
            H = _hist_matrix(histories, V.shape[0])
            cnt = np.maximum(np.asarray(H.sum(1)), 1)
            u = torch.as_tensor(np.asarray((H @ V.numpy())) / cnt, dtype=torch.float32)
        return (u @ V.T + self.b.weight.T).numpy()


class GRURec:
    """GRU4Rec-style: item embedding -> GRU -> hidden state scored against the (tied) item embeddings."""

    def __init__(self, dim: int = 64, epochs: int = 10, lr: float = 3e-3, max_len: int = 50, n_negatives: int = 1024,
                 seed: int = 0, batch_size: int = 128, event_weights=None, dropout: float = 0.1, **_):
        self.dim, self.epochs, self.lr, self.L, self.n_neg = dim, epochs, lr, max_len, n_negatives
        self.seed, self.bs, self.dropout = seed, batch_size, dropout
        self.ew = event_weight_array(event_weights or DEFAULT_EW)

    def fit(self, enc: Encoded, content=None, epoch_hook=None):
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        seq = Sequences(enc)
        self.seq = seq
        n_items = enc.n_items
        self.emb = nn.Embedding(n_items, self.dim, padding_idx=0)
        nn.init.normal_(self.emb.weight, std=0.05)
        self.gru = nn.GRU(self.dim, self.dim, batch_first=True)
        self.drop = nn.Dropout(self.dropout)
        self.bias = nn.Parameter(torch.zeros(n_items))
        params = list(self.emb.parameters()) + list(self.gru.parameters()) + [self.bias]
        opt = torch.optim.Adam(params, lr=self.lr)
        # chunks of L+1 consecutive events per user
        chunks = []
        for u in range(1, enc.n_users):
            s, e = seq.start[u], seq.end[u]
            if e - s < 2:
                continue
            for c0 in range(s, e - 1, self.L):
                chunks.append((c0, min(c0 + self.L + 1, e)))
        chunks = np.array(chunks, np.int64).reshape(-1, 2)
        n_neg = min(self.n_neg, n_items - 1)
        full = n_neg >= n_items - 1
        all_items = torch.arange(1, n_items)
        for ep in range(self.epochs):
            self.gru.train()
            perm = rng.permutation(len(chunks))
            for b0 in range(0, len(chunks), self.bs):
                cb = chunks[perm[b0: b0 + self.bs]]
                T = int((cb[:, 1] - cb[:, 0]).max())
                idx = cb[:, 0:1] + np.arange(T)[None, :]
                valid = idx < cb[:, 1:2]
                idx = np.where(valid, idx, 0)
                items = torch.as_tensor(np.where(valid, seq.i[idx], 0))
                w = torch.as_tensor(np.where(valid, self.ew[seq.e[idx]], 0).astype(np.float32))
                x, y, wy = items[:, :-1], items[:, 1:], w[:, 1:]
                h, _ = self.gru(self.drop(self.emb(x)))
                h = h.reshape(-1, self.dim)
                y, wy = y.reshape(-1), wy.reshape(-1)
                keep = wy > 0
                h, y, wy = h[keep], y[keep], wy[keep]
                cand = all_items if full else torch.as_tensor(rng.integers(1, n_items, n_neg))
                pos = (h * self.emb(y)).sum(1) + self.bias[y]
                neg = h @ self.emb(cand).T + self.bias[cand][None, :]
                neg = neg.masked_fill(cand[None, :] == y[:, None], float("-inf"))
                ce = torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1) - pos
                loss = (ce * wy).sum() / wy.sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            if epoch_hook is not None:
                self.gru.eval()
                epoch_hook(self, ep + 1)
        self.gru.eval()
        return self

    @torch.no_grad()
    def score(self, users, histories=None):
        L = self.L
        if histories is None:
            idx, mask = self.seq.last_histories(np.asarray(users), L)
            items = np.where(mask, self.seq.i[idx], 0)
            histories = [row[m].tolist() for row, m in zip(items, mask)]
        X = np.zeros((len(histories), L), np.int64)
        lens = np.zeros(len(histories), np.int64)
        for r, h in enumerate(histories):
            h = [x for x in h if x > 0][-L:]
            X[r, : len(h)] = h
            lens[r] = len(h)
        out, _ = self.gru(self.emb(torch.as_tensor(X)))
        last = out[torch.arange(len(X)), torch.as_tensor(np.maximum(lens - 1, 0))]
        last = torch.where(torch.as_tensor(lens > 0)[:, None], last, torch.zeros_like(last))
        return (last @ self.emb.weight.T + self.bias[None, :]).numpy()


class AdaBoostRanker:
    """The paper's AdaBoost baseline on hand-made user and item features (scikit-learn AdaBoostClassifier)."""

    FEATURES = ["user_item_count", "days_since_user_item", "item_pop_all", "item_pop_recent", "user_cat_share",
                "item_log_price", "price_gap", "user_n_events"]

    def __init__(self, n_estimators: int = 100, depth: int = 2, learning_rate: float = 0.5, label_days: float = 30.0,
                 negatives: int = 10, seed: int = 0, event_weights=None, max_candidates: int = 5000, **_):
        self.n_estimators, self.depth, self.lr, self.label_days = n_estimators, depth, learning_rate, label_days
        self.negatives, self.seed, self.max_cand = negatives, seed, max_candidates
        self.ew = event_weight_array(event_weights or DEFAULT_EW)

    def _stats(self, enc: Encoded, sel: np.ndarray, t_ref: float, content: ItemContent | None):
        u, i, t, w = enc.u[sel], enc.i[sel], enc.t[sel], self.ew[enc.e[sel]]
        st = {}
        st["ui"] = sp.csr_matrix((w, (u, i)), shape=(enc.n_users, enc.n_items))
        st["ui"].sum_duplicates()
        # days since the user's last event on the item: sort by (u, i, t) and take the last of each pair
        order = np.lexsort((t, i, u))
        key_u, key_i, key_t = u[order], i[order], t[order]
        lastpos = np.r_[(key_u[1:] != key_u[:-1]) | (key_i[1:] != key_i[:-1]), True] if len(u) else np.zeros(0, bool)
        st["last"] = sp.csr_matrix(((t_ref - key_t[lastpos]) / DAY + 1.0, (key_u[lastpos], key_i[lastpos])),
                                   shape=(enc.n_users, enc.n_items))
        pop = np.zeros(enc.n_items)
        np.add.at(pop, i, w)
        rec = t >= t_ref - 30 * DAY
        popr = np.zeros(enc.n_items)
        np.add.at(popr, i[rec], w[rec])
        st["pop"], st["popr"] = np.log1p(pop), np.log1p(popr)
        cat = content.category if content is not None else np.zeros(enc.n_items, np.int64)
        n_cat = int(cat.max()) + 1
        uc = sp.csr_matrix((w, (u, cat[i])), shape=(enc.n_users, n_cat)).toarray() if n_cat <= 5000 else None
        tot = np.zeros(enc.n_users)
        np.add.at(tot, u, w)
        st["uc"], st["cat"], st["tot"] = uc, cat, tot
        price = np.zeros(enc.n_items)
        if content is not None:
            # the price band is the engine's price feature; use its index as a log-price proxy
            price = content.price_band.astype(float)
        st["price"] = price
        up = np.zeros(enc.n_users)
        np.add.at(up, u, w * price[i])
        st["uprice"] = up / np.maximum(tot, 1e-9)
        return st

    def _features(self, st, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        ui = np.asarray(st["ui"][users, items]).ravel()
        last = np.asarray(st["last"][users, items]).ravel()
        days = np.where(last > 0, last, 999.0)
        cshare = (st["uc"][users, st["cat"][items]] / np.maximum(st["tot"][users], 1e-9)) if st["uc"] is not None \
            else np.zeros(len(users))
        return np.stack([np.log1p(ui), days, st["pop"][items], st["popr"][items], cshare, st["price"][items],
                         np.abs(st["price"][items] - st["uprice"][users]), np.log1p(st["tot"][users])], 1)

    def fit(self, enc: Encoded, content: ItemContent | None = None, epoch_hook=None):
        from sklearn.ensemble import AdaBoostClassifier
        from sklearn.tree import DecisionTreeClassifier

        rng = np.random.default_rng(self.seed)
        t_split = enc.t_end - self.label_days * DAY
        feat_sel = enc.t < t_split
        lab_sel = ~feat_sel
        st = self._stats(enc, feat_sel, t_split, content)
        known = st["tot"] > 0
        pos = np.unique(np.stack([enc.u[lab_sel], enc.i[lab_sel]], 1), axis=0)
        pos = pos[known[pos[:, 0]]]
        if len(pos) == 0:  # too little history: fall back to labelling the whole period
            pos = np.unique(np.stack([enc.u, enc.i], 1), axis=0)
            st = self._stats(enc, np.ones(len(enc.t), bool), enc.t_end, content)
        nu = np.repeat(pos[:, 0], self.negatives)
        ni = rng.integers(1, enc.n_items, len(nu))
        users = np.r_[pos[:, 0], nu]
        items = np.r_[pos[:, 1], ni]
        y = np.r_[np.ones(len(pos)), np.zeros(len(nu))]
        X = self._features(st, users, items)
        self.clf = AdaBoostClassifier(estimator=DecisionTreeClassifier(max_depth=self.depth),
                                      n_estimators=self.n_estimators, learning_rate=self.lr,
                                      random_state=self.seed).fit(X, y)
        self.st = self._stats(enc, np.ones(len(enc.t), bool), enc.t_end, content)
        self.n_items = enc.n_items
        order = np.argsort(-self.st["pop"])
        self.top = order[order > 0][: self.max_cand]
        return self

    def score(self, users, histories=None):
        if histories is not None:
            raise NotImplementedError("AdaBoost baseline scores known users only")
        users = np.asarray(users)
        out = np.full((len(users), self.n_items), -1e9, np.float32)
        if self.n_items <= self.max_cand:
            cand = np.arange(1, self.n_items)
            step = max(1, 400000 // len(cand))
            for r0 in range(0, len(users), step):
                ub = users[r0: r0 + step]
                X = self._features(self.st, np.repeat(ub, len(cand)), np.tile(cand, len(ub)))
                out[r0: r0 + len(ub), 1:] = self.clf.decision_function(X).reshape(len(ub), -1)
            return out
        for r, u in enumerate(users):  # two-stage for large catalogs: the user's own items + the most popular
            cand = np.unique(np.r_[self.st["ui"][u].indices, self.top])
            X = self._features(self.st, np.full(len(cand), u), cand)
            out[r, cand] = self.clf.decision_function(X)
        return out


MODELS = {"popularity": Popularity, "itemknn": ItemKNN, "bpr": BPRMF, "gru": GRURec, "adaboost": AdaBoostRanker}
