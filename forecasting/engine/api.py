"""fit / predict / artifact (de)serialisation -- the functions the Django side calls.

    artifact = fit(sales, items, config=None, progress=None)
    forecast = predict(artifact, sales, items, as_of="2011-09-30", horizon=45)  # item_id,date,p10,p50,p90
    blob = save_artifact(artifact); artifact = load_artifact(blob)

``sales`` and ``items`` are DataFrames in exactly the documented CSV format (see README.md). ``fit`` trains on
every row it is given (callers cut at their cutoff; the CLI's ``--train-until`` does that before calling it);
``predict`` ignores every sales row after ``as_of``.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import data as D
from .errors import ArtifactError, ForecastInputError

log = logging.getLogger(__name__)

ARTIFACT_VERSION = 1

DEFAULT_CONFIG = {
    # problem
    "horizon": 45,
    "window": 120,
    "extra_holidays": [],            # extra YYYY-MM-DD holiday dates on top of the built-in calendar
    # image branch
    "use_image": True,
    "image_arch": "resnet101",       # resnet18 | resnet50 | resnet101
    "image_weights": None,           # local torchvision state_dict; default env FORECAST_RESNET_WEIGHTS
    "image_size": 224,               # 224 px -> 7x7 = 49 regions
    "image_cache_dir": None,         # on-disk feature cache (content-hash keyed); None = no cache
    "image_batch_size": 16,
    # text branch
    "use_text": True,
    "max_tokens": 32,
    "min_word_count": 1,
    "max_vocab": 20000,
    "word_dim": 32,
    # fusion
    "fusion": "attention",           # attention | concat
    "fusion_width": 32,
    "fused_dim": 32,
    "category_dim": 8,
    # temporal model
    "temporal": "bilstm",            # bilstm | lstm | gru | transformer
    "hidden": 30,
    "transformer_dim": 32,
    "transformer_heads": 4,
    "transformer_layers": 2,
    "head_hidden": 64,
    "dropout": 0.2,
    # training
    "lr": 1e-3,
    "batch_size": 32,
    "gpu_batch_size": 256,
    "epochs": 100,
    "patience": 10,
    "split": [0.7, 0.2, 0.1],        # train / validation / test share of forecast origins, in time order
    "stride": 3,                     # origins per item sampled every `stride` days (random offset per epoch)
    "val_stride": 3,
    "min_history": 28,               # earliest origin for items present at the start of the data
    "coldstart_prob": 0.15,          # share of training windows whose history is hidden (teaches cold start)
    "mse_weight": 1.0,
    "pinball_weight": 1.0,
    "seed": 0,
    "device": None,                  # None = cuda if available else cpu
    "amp": True,                     # mixed precision on CUDA
    "num_threads": None,
    "progress_bar": None,            # None = tqdm only when stderr is a terminal
    "max_epoch_windows": None,       # cap on training windows per epoch (None = all)
}


def make_config(config=None, **overrides) -> dict:
    cfg = copy.deepcopy(DEFAULT_CONFIG)
    for src in (config or {}), overrides:
        unknown = set(src) - set(DEFAULT_CONFIG)
        if unknown:
            raise ForecastInputError(f"config: unknown option(s) {sorted(unknown)}")
        cfg.update(copy.deepcopy(src))
    if cfg["temporal"] not in ("bilstm", "lstm", "gru", "transformer"):
        raise ForecastInputError(f"config: temporal must be bilstm|lstm|gru|transformer, got {cfg['temporal']!r}")
    if cfg["fusion"] not in ("attention", "concat"):
        raise ForecastInputError(f"config: fusion must be attention|concat, got {cfg['fusion']!r}")
    return cfg


# ------------------------------------------------------------------------------------------------ vocab
def build_vocab(items: pd.DataFrame, cfg) -> dict:
    counts = {}
    for text in (items["name"] + " " + items["description"]):
        for w in D.tokenize(text):
            counts[w] = counts.get(w, 0) + 1
    words = sorted((w for w, c in counts.items() if c >= cfg["min_word_count"]), key=lambda w: (-counts[w], w))
    words = words[: cfg["max_vocab"]]
    return {w: i + 2 for i, w in enumerate(words)}  # 0 = padding, 1 = unknown word


def encode_text(items: pd.DataFrame, vocab: dict, max_tokens: int) -> np.ndarray:
    out = np.zeros((len(items), max_tokens), dtype=np.int64)
    for k, text in enumerate(items["name"] + " " + items["description"]):
        ids = [vocab.get(w, 1) for w in D.tokenize(text)][:max_tokens]
        out[k, : len(ids)] = ids
    return out


# ------------------------------------------------------------------------------------------------ artifact
@dataclass
class Artifact:
    config: dict
    state_dict: dict
    vocab: dict
    categories: dict
    scalers: dict            # item_id -> [units, views, carts, price_ref]
    category_scale: dict     # category -> median units scale (cold start)
    global_scale: list
    image_channels: int
    n_regions: int
    train_until: str
    image_norm: float = 1.0
    metrics: dict = field(default_factory=dict)
    _model: object = None

    def model(self):
        if self._model is None:
            import torch

            from .model import ForecastNet

            m = ForecastNet(self.config, len(self.vocab) + 2, len(self.categories) + 1, len(D.DYNAMIC_FEATURES),
                            len(D.CALENDAR_FEATURES), self.image_channels)
            m.load_state_dict({k: torch.as_tensor(v) for k, v in self.state_dict.items()})
            m.eval()
            self._model = m
        return self._model


def save_artifact(artifact: Artifact) -> bytes:
    import torch

    payload = {
        "version": ARTIFACT_VERSION, "config": artifact.config, "state_dict": artifact.state_dict,
        "vocab": artifact.vocab, "categories": artifact.categories, "scalers": artifact.scalers,
        "category_scale": artifact.category_scale, "global_scale": artifact.global_scale,
        "image_channels": artifact.image_channels, "n_regions": artifact.n_regions,
        "train_until": artifact.train_until, "metrics": artifact.metrics, "image_norm": artifact.image_norm,
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def load_artifact(blob: bytes) -> Artifact:
    import torch

    try:
        p = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise ArtifactError(f"artifact: cannot read model artifact ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(p, dict) or p.get("version") != ARTIFACT_VERSION:
        raise ArtifactError(f"artifact: unsupported artifact version {p.get('version') if isinstance(p, dict) else '?'}")
    return Artifact(config=p["config"], state_dict=p["state_dict"], vocab=p["vocab"], categories=p["categories"],
                    scalers=p["scalers"], category_scale=p["category_scale"], global_scale=p["global_scale"],
                    image_channels=p["image_channels"], n_regions=p["n_regions"], train_until=p["train_until"],
                    image_norm=p.get("image_norm", 1.0), metrics=p.get("metrics", {}))


# ------------------------------------------------------------------------------------------------ tensors
class _Inputs:
    """Everything the network needs for a set of items, as numpy arrays (padded on the left by `window`)."""

    def __init__(self, panel, feats, cal, tokens, regions, has_image, category, log_scale, scale):
        self.panel, self.feats, self.cal, self.tokens = panel, feats, cal, tokens
        self.regions, self.has_image, self.category = regions, has_image, category
        self.log_scale, self.scale = log_scale, scale

    def batch(self, items, origins, W, H, torch, device, hide=None, cold_log_scale=None, cold_scale=None):
        # origins are indices into the unpadded day axis (last input day); feats padded by W on the left
        idx = origins[:, None] + 1 + np.arange(W)[None, :]
        x = self.feats[items[:, None], idx].copy()
        cal = self.cal[origins[:, None] + 1 + W + np.arange(H)[None, :]]
        log_scale = self.log_scale[items].copy()
        if hide is not None and hide.any():
            x[hide, :, :7] = 0.0           # units, views, carts, price, promo, stockout, active -> unknown
            log_scale[hide] = cold_log_scale[items[hide]]
        t = lambda a, dt=None: torch.as_tensor(a, dtype=dt).to(device)  # noqa: E731
        return (t(x), t(cal), t(self.tokens[items]), t(self.regions[items]), t(self.has_image[items]),
                t(self.category[items]), t(log_scale.astype(np.float32)))


def _image_features(items, cfg, norm=None):
    from .images import ARCH_CHANNELS, ImageFeatureExtractor

    C = ARCH_CHANNELS[cfg["image_arch"]]
    paths = items["image_path"].tolist()
    if not cfg["use_image"] or not any(p.strip() for p in paths):
        return np.zeros((len(items), 1, C), np.float32), np.zeros(len(items), bool), C, norm or 1.0
    ext = ImageFeatureExtractor(cfg["image_arch"], cfg["image_weights"], cfg["image_cache_dir"], cfg["image_size"],
                                cfg["image_batch_size"], device=cfg["device"])
    grids, ok = ext.region_features(paths)
    # frozen features are divided by one global RMS (fixed at fit time, stored in the artifact) so random and
    # ImageNet weights both give inputs of unit scale
    if norm is None:
        norm = float(np.sqrt((grids[ok] ** 2).mean()) + 1e-6) if ok.any() else 1.0
    return grids / norm, ok, C, norm


def _prepare(sales, items, cfg, until, art=None, start=None):
    """Build model inputs over [start, until] for every item in `items`."""
    item_ids = items["item_id"].tolist()
    W = cfg["window"]
    H = cfg["horizon"]
    if start is None:
        start = sales["date"].min() if len(sales) else until
    start = min(pd.Timestamp(start), until)
    panel = D.build_panel(sales, item_ids, start, until)
    T = len(panel.dates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        us, vs, cs, pr = D.series_scalers(panel, T - 1)
    cat_names = items["category"].tolist()
    if art is None:
        has_hist = panel.first_day < T
        gs = [float(np.nanmedian(us[has_hist])) if has_hist.any() else 1.0,
              float(np.nanmedian(vs[has_hist])) if has_hist.any() else 1.0,
              float(np.nanmedian(cs[has_hist])) if has_hist.any() else 1.0]
        cat_scale = {}
        for c in sorted(set(cat_names)):
            m = has_hist & (np.array(cat_names) == c)
            if m.any():
                cat_scale[c] = float(np.median(us[m]))
        categories = {c: i + 1 for i, c in enumerate(sorted(set(cat_names)))}
        scalers = {}
    else:
        gs, cat_scale, categories, scalers = art.global_scale, art.category_scale, art.categories, art.scalers
    cold_u = np.array([cat_scale.get(c, gs[0]) for c in cat_names], np.float32)
    U, V, Cc, P = (np.empty(len(item_ids), np.float32) for _ in range(4))
    for k, it in enumerate(item_ids):
        if it in scalers:
            U[k], V[k], Cc[k], P[k] = scalers[it]
        elif panel.first_day[k] < T:
            U[k], V[k], Cc[k], P[k] = us[k], vs[k], cs[k], pr[k]
        else:
            U[k], V[k], Cc[k], P[k] = cold_u[k], gs[1], gs[2], np.nan
    P = np.where(np.isfinite(P) & (P > 0), P, np.nan).astype(np.float32)
    feats = D.dynamic_features(panel, U, V, Cc, P, cfg["extra_holidays"])
    feats = np.concatenate([np.zeros((len(item_ids), W, feats.shape[2]), np.float32), feats], 1)
    all_dates = pd.date_range(start - pd.Timedelta(days=W), until + pd.Timedelta(days=H), freq="D")
    cal = D.calendar_frame(all_dates, cfg["extra_holidays"])
    tokens = encode_text(items, art.vocab if art else build_vocab(items, cfg), cfg["max_tokens"])
    return dict(panel=panel, feats=feats, cal=cal, tokens=tokens, U=U, V=V, Cc=Cc, P=P, cold_u=cold_u,
                categories=categories, cat_scale=cat_scale, gs=gs,
                category=np.array([categories.get(c, 0) for c in cat_names], np.int64))


def _device(cfg):
    import torch

    if cfg["device"]:
        return torch.device(cfg["device"])
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _loss(pred, y, mask, cfg, torch):
    mse = ((pred[..., 1] - y) ** 2 * mask).sum() / mask.sum().clamp_min(1.0)
    from .model import pinball

    return cfg["mse_weight"] * mse + cfg["pinball_weight"] * pinball(pred, y, mask=mask)


# ------------------------------------------------------------------------------------------------ fit
def fit(sales: pd.DataFrame, items: pd.DataFrame, config=None, progress=None, until=None) -> Artifact:
    """Train the forecaster on every row of ``sales`` (format: see README) and return an :class:`Artifact`.

    ``progress``: optional callable receiving dicts ``{"epoch", "epochs", "train_loss", "val_loss",
    "best_val_loss", "windows_per_s"}`` after every epoch (for a dashboard); a tqdm bar is shown on a terminal.
    """
    import torch

    from .model import ForecastNet

    cfg = make_config(config)
    sales = D.validate_sales(sales)
    items = D.validate_items(items)
    D.check_known_items(sales, items)
    if cfg["num_threads"]:
        torch.set_num_threads(int(cfg["num_threads"]))
    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    W, H = cfg["window"], cfg["horizon"]
    until = sales["date"].max() if until is None else D.parse_date(until, "until")
    sales = sales[sales["date"] <= until]
    prep = _prepare(sales, items, cfg, until)
    panel = prep["panel"]
    T = len(panel.dates)
    if T < H + 2:
        raise ForecastInputError(f"sales: only {T} days of history; need more than the horizon ({H} days) to train")
    vocab = build_vocab(items, cfg)
    t0 = time.time()
    regions, has_image, C, img_norm = _image_features(items, cfg)
    img_s = time.time() - t0
    inp = _Inputs(panel, prep["feats"], prep["cal"], prep["tokens"], regions, has_image, prep["category"],
                  np.log(prep["U"]), prep["U"])
    cold_log = np.log(prep["cold_u"])

    # forecast origins (index of the last input day), split 7:2:1 in time order
    first = np.maximum(panel.first_day - 1, min(cfg["min_history"] - 1, T - H - 1))
    o_max = T - 1 - H
    has_hist = panel.first_day < T
    lo = int(first[has_hist].min()) if has_hist.any() else 0
    span = o_max - lo + 1
    if span < 3:
        raise ForecastInputError(f"sales: {T} days of history leave no room for training windows "
                                 f"(window {W}, horizon {H}); supply more history")
    fr = np.asarray(cfg["split"], float)
    fr = fr / fr.sum()
    b1 = lo + max(1, int(round(span * fr[0])))
    b2 = b1 + max(1 if fr[1] > 0 else 0, int(round(span * fr[1])))
    b2 = min(b2, o_max + 1)

    def windows(a, b, stride, offset=0):
        its, ors = [], []
        for k in np.flatnonzero(has_hist):
            s = max(a, int(first[k]))
            o = np.arange(s + offset % stride if stride > 1 else s, b, stride)
            its.append(np.full(len(o), k))
            ors.append(o)
        if not its:
            return np.zeros(0, int), np.zeros(0, int)
        return np.concatenate(its).astype(np.int64), np.concatenate(ors).astype(np.int64)

    val_i, val_o = windows(b1, b2, cfg["val_stride"])
    test_i, test_o = windows(b2, o_max + 1, cfg["val_stride"])
    if len(val_i) == 0:  # tiny data: validate on the last training origins
        val_i, val_o = windows(max(lo, b1 - 3), b1, 1)

    dev = _device(cfg)
    use_amp = bool(cfg["amp"]) and dev.type == "cuda"
    bs = int(cfg["gpu_batch_size"] if dev.type == "cuda" else cfg["batch_size"])
    model = ForecastNet(cfg, len(vocab) + 2, len(prep["categories"]) + 1, len(D.DYNAMIC_FEATURES),
                        len(D.CALENDAR_FEATURES), C).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    amp_ctx = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else contextlib.nullcontext
    units_scaled = np.concatenate([panel.units / prep["U"][:, None], np.zeros((len(items), H), np.float32)], 1)
    notstock = np.concatenate([1.0 - panel.stockout, np.zeros((len(items), H), np.float32)], 1)

    def targets(its, ors, hide=None):
        idx = ors[:, None] + 1 + np.arange(H)[None, :]
        y = units_scaled[its[:, None], idx]
        if hide is not None and hide.any():   # hidden-history windows are scaled by the cold-start scale
            y[hide] = y[hide] * (prep["U"][its[hide]] / prep["cold_u"][its[hide]])[:, None]
        return (torch.as_tensor(y).to(dev), torch.as_tensor(notstock[its[:, None], idx]).to(dev))

    def evaluate(its, ors):
        model.eval()
        tot, n = 0.0, 0
        with torch.no_grad():
            for b in range(0, len(its), 512):
                ii, oo = its[b:b + 512], ors[b:b + 512]
                xb = inp.batch(ii, oo, W, H, torch, dev)
                y, m = targets(ii, oo)
                with amp_ctx():
                    pred = model(*xb).float()
                tot += float(_loss(pred, y, m, cfg, torch)) * len(ii)
                n += len(ii)
        return tot / max(n, 1)

    bar = None
    show_bar = cfg["progress_bar"] if cfg["progress_bar"] is not None else sys.stderr.isatty()
    if show_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg["epochs"], desc="training", unit="epoch")
    best, best_state, best_epoch, bad = math.inf, None, 0, 0
    history = []
    n_windows_seen, train_s = 0, 0.0
    for epoch in range(1, int(cfg["epochs"]) + 1):
        te = time.time()
        model.train()
        tr_i, tr_o = windows(lo, b1, cfg["stride"], offset=int(rng.integers(0, max(1, cfg["stride"]))))
        perm = rng.permutation(len(tr_i))
        if cfg["max_epoch_windows"]:
            perm = perm[: int(cfg["max_epoch_windows"])]
        tot, n = 0.0, 0
        for b in range(0, len(perm), bs):
            sel = perm[b:b + bs]
            ii, oo = tr_i[sel], tr_o[sel]
            hide = rng.random(len(ii)) < cfg["coldstart_prob"]
            xb = inp.batch(ii, oo, W, H, torch, dev, hide=hide, cold_log_scale=cold_log)
            y, m = targets(ii, oo, hide)
            opt.zero_grad(set_to_none=True)
            with amp_ctx():
                pred = model(*xb).float()
            loss = _loss(pred, y, m, cfg, torch)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            tot += float(loss.detach()) * len(ii)
            n += len(ii)
        train_s += time.time() - te
        n_windows_seen += n
        vl = evaluate(val_i, val_o)
        rec = {"epoch": epoch, "epochs": int(cfg["epochs"]), "train_loss": tot / max(n, 1), "val_loss": vl,
               "windows_per_s": n / max(time.time() - te, 1e-9)}
        if vl < best - 1e-6:
            best, best_epoch, bad = vl, epoch, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        rec["best_val_loss"] = best
        history.append(rec)
        if progress is not None:
            progress(dict(rec))
        if bar is not None:
            bar.set_postfix(train=f"{rec['train_loss']:.4f}", val=f"{vl:.4f}")
            bar.update(1)
        if bad >= cfg["patience"]:
            break
    if bar is not None:
        bar.close()
    model.load_state_dict(best_state)
    test_loss = evaluate(test_i, test_o) if len(test_i) else None
    scalers = {it: [float(prep["U"][k]), float(prep["V"][k]), float(prep["Cc"][k]),
                    float(prep["P"][k]) if np.isfinite(prep["P"][k]) else float("nan")]
               for k, it in enumerate(panel.item_ids) if panel.first_day[k] < T}
    metrics = {"best_epoch": best_epoch, "best_val_loss": best, "test_loss": test_loss, "epochs_run": len(history),
               "train_seconds": train_s, "train_windows": n_windows_seen,
               "windows_per_s": n_windows_seen / max(train_s, 1e-9), "image_seconds": img_s,
               "n_items": len(items), "n_images": int(has_image.sum()), "history": history,
               "split_origins": [int(lo), int(b1), int(b2), int(o_max)]}
    art = Artifact(config=cfg, state_dict={k: v.detach().cpu() for k, v in best_state.items()}, vocab=vocab,
                   categories=prep["categories"], scalers=scalers, category_scale=prep["cat_scale"],
                   global_scale=[float(x) for x in prep["gs"]], image_channels=C, n_regions=regions.shape[1],
                   train_until=str(until.date()), image_norm=img_norm, metrics=metrics)
    return art


# ------------------------------------------------------------------------------------------------ predict
def predict(artifact: Artifact, sales: pd.DataFrame, items: pd.DataFrame, as_of=None, horizon=None,
            chunk_items: int = 2048) -> pd.DataFrame:
    """Forecast ``horizon`` days after ``as_of`` for every item in ``items``; sales after ``as_of`` are ignored.

    Items without history (new products) are forecast from image, text and category.
    Returns a DataFrame ``item_id,date,p10,p50,p90`` (dates as YYYY-MM-DD strings, quantiles ordered, >= 0).
    """
    import torch

    cfg = dict(artifact.config)
    H = cfg["horizon"]
    horizon = H if horizon is None else int(horizon)
    if horizon < 1 or horizon > H:
        raise ForecastInputError(f"horizon: must be between 1 and the trained horizon {H}, got {horizon}")
    items = D.validate_items(items)
    if sales is None or len(sales) == 0:
        sales = pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns]"), "item_id": pd.Series([], dtype=str),
                              "units": pd.Series([], dtype=float)})
        if as_of is None:
            raise ForecastInputError("sales: no rows (empty input) and no as_of date given")
    else:
        sales = D.validate_sales(sales)
        D.check_known_items(sales, items)
    as_of = D.parse_date(as_of, "as_of") if as_of is not None else sales["date"].max()
    sales = sales[sales["date"] <= as_of]
    W = cfg["window"]
    start = as_of - pd.Timedelta(days=W + 365 - 1)
    model = artifact.model()
    out = []
    for c0 in range(0, len(items), chunk_items):
        it = items.iloc[c0:c0 + chunk_items].reset_index(drop=True)
        sl = sales[sales["item_id"].isin(set(it["item_id"]))]
        prep = _prepare(sl, it, cfg, as_of, art=artifact, start=start)
        regions, has_image, _, _ = _image_features(it, cfg, norm=artifact.image_norm)
        if regions.shape[1] != artifact.n_regions and not has_image.any():
            regions = np.zeros((len(it), artifact.n_regions, regions.shape[2]), np.float32)
        T = len(prep["panel"].dates)
        inp = _Inputs(prep["panel"], prep["feats"], prep["cal"], prep["tokens"], regions, has_image,
                      prep["category"], np.log(prep["U"]), prep["U"])
        preds = []
        with torch.no_grad():
            for b in range(0, len(it), 1024):
                ii = np.arange(b, min(b + 1024, len(it)))
                xb = inp.batch(ii, np.full(len(ii), T - 1), W, H, torch, torch.device("cpu"))
                preds.append(model(*xb).numpy())
        p = np.concatenate(preds)[:, :horizon] * prep["U"][:, None, None]
        p = np.clip(p, 0, None)
        dates = pd.date_range(as_of + pd.Timedelta(days=1), periods=horizon, freq="D").strftime("%Y-%m-%d")
        out.append(pd.DataFrame({"item_id": np.repeat(it["item_id"].to_numpy(), horizon),
                                 "date": np.tile(dates, len(it)), "p10": p[..., 0].ravel(),
                                 "p50": p[..., 1].ravel(), "p90": p[..., 2].ravel()}))
    return pd.concat(out, ignore_index=True)


def forecast(sales, items, train_until, horizon=45, config=None, progress=None):
    """Train on rows up to and including ``train_until`` only, then forecast ``horizon`` days after it."""
    cutoff = D.parse_date(train_until, "train_until")
    sales = D.validate_sales(sales)
    items = D.validate_items(items)
    D.check_known_items(sales, items)
    hist = sales[sales["date"] <= cutoff].reset_index(drop=True)
    if len(hist) == 0:
        raise ForecastInputError(f"sales: no rows on or before --train-until {cutoff.date()}")
    cfg = make_config(config, horizon=max(int(horizon), 1))
    art = fit(hist, items, cfg, progress=progress, until=cutoff)
    return predict(art, hist, items, as_of=cutoff, horizon=horizon), art
