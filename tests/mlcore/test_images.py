"""The pretrained EfficientNet-Lite0 backbone: chosen by default without ResNet weights, loaded from the package's
file with no network, and its ImageNet knowledge is real (a real H&M photo of jeans shorts is a 'jean')."""
import logging
import socket

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mlcore import images as mi
from mlcore.images import ImageFeatureExtractor, choose_arch
from tests.conftest import SHARED

HM = SHARED / "hm-sample"


def test_auto_picks_resnet101_with_weights_else_the_pretrained_efficientnet(tmp_path):
    assert mi.packaged_weights("efficientnet_lite0")
    assert choose_arch("auto", None) == choose_arch(None, None) == "efficientnet_lite0"
    assert choose_arch("auto", str(tmp_path / "resnet101.pth")) == "resnet101"
    assert choose_arch("resnet18", None) == "resnet18"
    with pytest.raises(ValueError, match="unknown image backbone 'vgg'"):
        choose_arch("vgg", None)


def test_efficientnet_lite0_loads_offline_and_gives_a_7x7_grid(tmp_path, monkeypatch, caplog):
    def no_network(*a, **kw):
        raise AssertionError("the backbone tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    p = tmp_path / "a.png"
    Image.new("RGB", (90, 60), (200, 10, 10)).save(p)
    with caplog.at_level(logging.WARNING):
        ext = ImageFeatureExtractor(cache_dir=tmp_path / "c")
        grids, ok = ext.region_features([str(p)])
    assert ext.arch == "efficientnet_lite0" and ext.pretrained and ext.weights_id.startswith("w")
    assert grids.shape == (1, 49, 1280) and ok.all() and np.isfinite(grids).all()
    assert "RANDOM" not in caplog.text


def test_weights_in_another_naming_are_mapped_tensor_by_tensor_or_refused():
    src = {"_conv_stem.weight": torch.zeros(2, 3), "_bn0.num_batches_tracked": torch.tensor(0),
           "_fc.weight": torch.zeros(5, 2)}
    dst = {"conv_stem.weight": torch.ones(2, 3), "bn1.num_batches_tracked": torch.tensor(0)}
    out = mi._timm_state_dict(src, dst)
    assert set(out) == set(dst) and out["conv_stem.weight"].sum() == 0
    with pytest.raises(ValueError, match="does not fit"):
        mi._timm_state_dict(src, {"conv_stem.weight": torch.ones(3, 3)})
    with pytest.raises(ValueError, match="tensors"):
        mi._timm_state_dict(src, {"a": torch.ones(2, 3), "b": torch.ones(1)})


@pytest.mark.skipif(not HM.exists(), reason="shared H&M sample not present")
def test_the_pretrained_weights_know_imagenet_on_a_real_photo():
    import timm

    art = pd.read_csv(HM / "articles.csv", dtype=str)
    row = art[art["prod_name"].str.contains("Bermuda", na=False) & art["image"].notna()].iloc[0]
    ext = ImageFeatureExtractor("efficientnet_lite0")
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    sd = torch.load(ext.weights_path, map_location="cpu", weights_only=True)
    state = mi._timm_state_dict(sd, net.state_dict())
    state.update({"classifier.weight": sd["_fc.weight"], "classifier.bias": sd["_fc.bias"]})
    net.load_state_dict(state)
    x = torch.from_numpy(ext._read(str(HM / row["image"]))[None])
    with torch.no_grad():
        top = int(net(x).argmax(1))
    assert top == 608            # ImageNet class 608: "jean, blue jean, denim"
