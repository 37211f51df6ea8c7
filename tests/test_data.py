"""Dataset loaders on real embedded data and on synthetic torchvision-layout roots."""

from __future__ import annotations

import csv
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from advcompare.data.datasets import check_data_root, load_dataset
from advcompare.errors import DataRootError, UnknownNameError


def _assert_model_ready(split, num_classes):
    assert split.x.shape[1:] == (3, 32, 32)
    assert split.x.dtype == torch.float32
    assert float(split.x.min()) >= 0.0 and float(split.x.max()) <= 1.0
    assert split.y.dtype == torch.long
    assert int(split.y.max()) < num_classes


def test_mnist_sample_is_real_mnist_with_paper_splits():
    ds = load_dataset("mnist-sample", seed=0)
    assert ds.num_classes == 10
    # 5,000 digits: 80:20 train/test, then 20% of train for validation (paper §3.3)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (3200, 800, 1000)
    for split in (ds.train, ds.val, ds.test):
        _assert_model_ready(split, 10)
    # grayscale repeated to three channels (paper §3.1)
    assert torch.equal(ds.test.x[:, 0], ds.test.x[:, 2])
    # stratified: every class has its 20% share in test
    assert torch.bincount(ds.test.y).tolist() == [100] * 10
    # real digits: mostly black background, bright strokes
    assert 0.05 < float(ds.test.x.mean()) < 0.3


def test_splits_are_seeded_and_recorded():
    a, b, c = (load_dataset("digits", seed=s) for s in (0, 0, 1))
    assert torch.equal(a.test.y, b.test.y) and torch.equal(a.train.x, b.train.x)
    assert not torch.equal(a.train.x, c.train.x)
    summary = a.summary()
    assert summary["split_seed"] == 0 and summary["n_test"] == len(a.test)
    assert summary["fingerprint"] == b.summary()["fingerprint"] != c.summary()["fingerprint"]


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(UnknownNameError, match="known datasets: mnist-sample, digits"):
        load_dataset("imagenet")


@pytest.mark.parametrize("name", ["mnist", "cifar10", "gtsrb"])
def test_missing_root_prints_expected_layout(tmp_path, name):
    with pytest.raises(DataRootError) as err:
        check_data_root(name, tmp_path / "nowhere")
    message = str(err.value)
    assert "\n" not in message and "expected torchvision's layout" in message
    assert {
        "mnist": "MNIST/raw/t10k-images-idx3-ubyte",
        "cifar10": "cifar-10-batches-py/data_batch_1",
        "gtsrb": "gtsrb/GT-final_test.csv",
    }[name] in message


def test_incomplete_root_names_the_missing_file(tmp_path):
    _write_mnist(tmp_path, n_train=20, n_test=10)
    (tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataRootError, match="missing <root>/MNIST/raw/t10k-labels-idx1-ubyte"):
        load_dataset("mnist", tmp_path)


def _write_idx(path, array: np.ndarray, magic: int) -> None:
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        fh.write(array.astype(np.uint8).tobytes())


def _write_mnist(root, n_train, n_test):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, 2049)


def test_mnist_from_torchvision_layout(tmp_path):
    _write_mnist(tmp_path, n_train=50, n_test=20)
    ds = load_dataset("mnist", tmp_path)
    assert len(ds.test) == 20  # MNIST's own test split is kept
    assert len(ds.train) + len(ds.val) == 50 and len(ds.val) == 10
    _assert_model_ready(ds.train, 10)


def test_cifar10_from_torchvision_layout(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    # torchvision checks the real files' MD5 sums; these synthetic batches have other sums
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", 10) for i in range(1, 6)] + [("test_batch", 10)]:
        with open(base / name, "wb") as fh:
            pickle.dump(
                {
                    "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                    "labels": list(np.arange(n) % 10),
                },
                fh,
            )
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)
    ds = load_dataset("cifar10", tmp_path)
    assert len(ds.test) == 10 and len(ds.train) + len(ds.val) == 50
    _assert_model_ready(ds.test, 10)
    assert not torch.equal(ds.test.x[:, 0], ds.test.x[:, 1])  # colour kept


def test_gtsrb_from_torchvision_layout_is_resized(tmp_path):
    base = tmp_path / "gtsrb"
    rng = np.random.default_rng(0)
    for cls in range(3):
        folder = base / "GTSRB" / "Training" / f"{cls:05d}"
        folder.mkdir(parents=True)
        for i in range(10):
            size = (int(rng.integers(25, 60)), int(rng.integers(25, 60)))
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
                folder / f"{i:05d}.ppm"
            )
    test_dir = base / "GTSRB" / "Final_Test" / "Images"
    test_dir.mkdir(parents=True)
    with open(base / "GT-final_test.csv", "w", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["Filename", "Width", "Height", "ClassId"])
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (41, 37, 3), dtype=np.uint8)).save(
                test_dir / f"{i:05d}.ppm"
            )
            writer.writerow([f"{i:05d}.ppm", 37, 41, i % 3])
    ds = load_dataset("gtsrb", tmp_path)
    assert ds.num_classes == 43
    assert len(ds.test) == 6 and len(ds.train) + len(ds.val) == 30
    _assert_model_ready(ds.train, 43)


@pytest.mark.parametrize("damage", ["csv without ClassId", "corrupt image"])
def test_malformed_gtsrb_files_are_a_one_line_data_root_error(tmp_path, damage):
    from advcompare.errors import DataRootError

    base = tmp_path / "gtsrb"
    rng = np.random.default_rng(0)
    for cls in range(2):
        folder = base / "GTSRB" / "Training" / f"{cls:05d}"
        folder.mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(
                folder / f"{i:05d}.ppm"
            )
    test_dir = base / "GTSRB" / "Final_Test" / "Images"
    test_dir.mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(test_dir / "0.ppm")
    header = "Filename;ClassId" if damage == "corrupt image" else "Filename;Width"
    (base / "GT-final_test.csv").write_text(f"{header}\n0.ppm;1\n")
    if damage == "corrupt image":
        (base / "GTSRB" / "Training" / "00001" / "00002.ppm").write_bytes(b"P6 not an image")
    with pytest.raises(DataRootError, match="has unreadable files for 'gtsrb'") as info:
        load_dataset("gtsrb", tmp_path)
    assert "\n" not in str(info.value)


def test_a_corrupt_cifar10_root_names_our_download_flag_not_torchvisions_argument(tmp_path):
    """torchvision's advice ("You can use download=True") names its own argument; the error
    a user of the command line reads names ``--download`` and the layout to check."""
    from advcompare.errors import DataRootError

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]:
        (folder / name).write_bytes(b"not a pickle")
    with pytest.raises(DataRootError) as caught:
        load_dataset("cifar10", root=tmp_path, seed=0)
    message = str(caught.value)
    assert "--download" in message and "You can use download=True" not in message
    assert "\n" not in message
