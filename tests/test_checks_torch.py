"""Torch modules through the safe export: rebuilt from declared layers, tensors without pickle."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from dlkit import checks

torch = pytest.importorskip("torch")
nn = torch.nn


def round_trip(value, tmp_path, name="model"):
    checks.export({name: value}, tmp_path)
    return checks.load(tmp_path)[name]


def test_sequential_head_round_trips_with_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    head = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(16, 3, bias=False)).eval()
    head[1].running_mean += 0.5  # buffers travel too
    loaded = round_trip(head, tmp_path)
    x = torch.randn(5, 8)
    assert isinstance(loaded, nn.Sequential) and not loaded.training
    assert torch.allclose(loaded(x), head(x))
    assert loaded[4].bias is None and loaded[3].p == 0.3


def test_timm_backbone_with_a_custom_classifier_round_trips(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
    model.classifier = nn.Sequential(nn.Linear(1280, 32), nn.ReLU(), nn.Linear(32, 10))
    wrapped = nn.Sequential(model, nn.Softmax(dim=1)).eval()
    loaded = round_trip(wrapped, tmp_path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), wrapped(x), atol=1e-5)


def test_tensors_are_stored_without_pickle(tmp_path):
    checks.export({"model": nn.Sequential(nn.Linear(2, 2))}, tmp_path)
    with zipfile.ZipFile(tmp_path / "model.npz") as archive:
        for member in archive.namelist():
            assert archive.read(member)[:6] == b"\x93NUMPY"
    with np.load(tmp_path / "model.npz", allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["t0", "t1"]


def test_custom_module_classes_are_refused_with_a_clear_message(tmp_path):
    class Mine(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"model\[1\]: the grader cannot rebuild a Mine"):
        checks.export({"model": nn.Sequential(nn.ReLU(), Mine())}, tmp_path)


def test_a_tampered_layer_tree_is_refused(tmp_path):
    checks.export({"model": nn.Sequential(nn.Linear(2, 2))}, tmp_path)
    manifest = (tmp_path / checks.MANIFEST).read_text().replace('"Linear"', '"Bilinear"')
    (tmp_path / checks.MANIFEST).write_text(manifest)
    with pytest.raises(ValueError, match="unknown layer"):
        checks.load(tmp_path)


def test_tensors_that_do_not_fit_the_tree_are_refused(tmp_path):
    checks.export({"model": nn.Sequential(nn.Linear(2, 2))}, tmp_path)
    manifest = (tmp_path / checks.MANIFEST).read_text().replace('"out_features": 2', '"out_features": 3')
    (tmp_path / checks.MANIFEST).write_text(manifest)
    with pytest.raises(RuntimeError, match="size mismatch"):
        checks.load(tmp_path)


def test_a_model_asked_for_twice_is_written_once_and_loaded_once(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    saved: dict = {}
    checks.export({"model": model}, tmp_path / "q1-0", saved)
    checks.export({"model": model}, tmp_path / "q2-0", saved)
    # the second test names the first one's file (no copy, no hard link: the runner sends only
    # files with one link)
    assert json.loads((tmp_path / "q2-0" / checks.MANIFEST).read_text())["model"]["file"] == "q1-0/model.npz"
    assert not (tmp_path / "q2-0" / "model.npz").exists()
    loaded: dict = {}
    assert checks.load(tmp_path / "q1-0", loaded)["model"] is checks.load(tmp_path / "q2-0", loaded)["model"]
