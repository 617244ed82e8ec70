"""Data loaders and scenarios (no torch needed)."""
import dataclasses
import gzip

import numpy as np
import pytest

from cifar_fixtures import IMG, write_cifar10, write_cifar100
from l5sim.ann.data import (DatasetError, load_cifar_bin, load_dataset, load_idx, make_scenario,
                            resplit)
from l5sim.errors import L5SimError


def _write_idx(path, arr, compress):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(data)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    p = tmp_path / ("x.gz" if compress else "x")
    _write_idx(p, arr, compress)
    out = load_idx(str(p))
    assert out.dtype == np.uint8 and np.array_equal(out, arr)


def test_idx_bad_magic_and_truncation(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"\x00\x00\x00")
    with pytest.raises(DatasetError, match="magic"):
        load_idx(str(p))
    p.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x00\x00")
    with pytest.raises(DatasetError, match="truncated"):
        load_idx(str(p))


def test_mnist_style_directory(tmp_path):
    rng = np.random.default_rng(2)
    for stem, shape, gz in [("train-images-idx3-ubyte", (20, 28, 28), True),
                            ("train-labels-idx1-ubyte", (20,), True),
                            ("t10k-images-idx3-ubyte", (10, 28, 28), False),
                            ("t10k-labels-idx1-ubyte", (10,), False)]:
        hi = 10 if "labels" in stem else 256
        _write_idx(tmp_path / (stem + (".gz" if gz else "")), rng.integers(0, hi, size=shape), gz)
    ds = load_dataset("mnist", data_dir=str(tmp_path))
    assert ds.x_train.shape == (20, 28, 28) and ds.y_test.shape == (10,)
    assert ds.scale == 255.0


def test_missing_dataset_says_how_to_install(tmp_path):
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path))
    with pytest.raises(DatasetError, match="expected one of"):
        load_dataset("cifar")


def test_digits_scenarios():
    pytest.importorskip("sklearn")
    ds = load_dataset("digits")
    assert ds.image_shape == (8, 8) and ds.n_classes == 10
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    z = ds.preprocess(flat, "standardize")
    assert abs(float(z.mean())) < 1e-4 and abs(float(z.std()) - 1) < 1e-3
    raw = ds.preprocess(flat, "none")  # pixels / 16, the digits' maximum
    assert np.allclose(raw, flat / 16.0) and raw.min() == 0.0 and raw.max() == 1.0
    with pytest.raises(L5SimError, match="normalize: got 'zscore'"):
        ds.preprocess(flat, "zscore")

    rot = make_scenario(ds, "rotated")
    assert [t.name for t in rot] == ["rot0", "rot80", "rot160"]
    assert np.array_equal(rot[0].x_train, ds.x_train.reshape(len(ds.x_train), -1))
    assert not np.array_equal(rot[1].x_train, rot[0].x_train)

    perm = make_scenario(ds, "permuted", seed=3)
    assert len(perm) == 3
    # a permutation keeps each image's pixel multiset
    assert np.array_equal(np.sort(perm[2].x_test, axis=1), np.sort(perm[0].x_test, axis=1))
    assert np.array_equal(make_scenario(ds, "permuted", seed=3)[1].x_train, perm[1].x_train)

    split = make_scenario(ds, "split")
    assert [t.classes for t in split] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    assert set(np.unique(split[1].y_train)) == {2, 3}
    assert sum(len(t.y_test) for t in split) == len(ds.y_test)


def test_digits_split_varies_with_its_seed_and_stays_stratified():
    pytest.importorskip("sklearn")
    a, b = load_dataset("digits", split_seed=0), load_dataset("digits", split_seed=1)
    assert a.y_test.size == b.y_test.size
    # stratified: every class holds out round(0.3 n_c) images, whatever the seed
    assert np.array_equal(np.bincount(a.y_test), np.bincount(b.y_test))
    assert not np.array_equal(a.x_test, b.x_test)
    c = resplit(a, seed=1)
    assert np.array_equal(np.bincount(c.y_test), np.bincount(a.y_test))
    assert c.x_train.shape[0] + c.x_test.shape[0] == a.x_train.shape[0] + a.x_test.shape[0]


def test_split_class_order_from_seed_is_a_partition():
    pytest.importorskip("sklearn")
    ds = load_dataset("digits")
    fixed = make_scenario(ds, "split")
    assert [t.classes for t in fixed] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    orders = {tuple(t.classes for t in make_scenario(ds, "split", seed=s, shuffle_classes=True))
              for s in range(4)}
    assert len(orders) > 1
    for order in orders:
        assert sorted(c for cls in order for c in cls) == list(range(10))


def test_cifar10_binary_round_trip_and_per_channel_statistics(tmp_path):
    d = tmp_path / "cifar-10-batches-bin"
    written = write_cifar10(d)
    x, lab = load_cifar_bin(str(d / "data_batch_2.bin"), 1)
    assert x.shape == (len(written[2][1]), 3, 32, 32) and np.array_equal(x, written[2][0])
    assert np.array_equal(lab[:, 0], written[2][1])
    ds = load_dataset("cifar10", data_dir=str(d))
    assert ds.image_shape == (3, 32, 32) and ds.n_classes == 10 and ds.n_channels == 3
    assert ds.x_train.shape[0] == 60 and ds.y_test.size == 30
    # per-channel statistics, computed here independently from the written bytes
    allx = np.concatenate([written[i][0] for i in range(1, 6)]).astype(np.float64) / 255.0
    for c in range(3):
        assert ds.mean[c] == pytest.approx(allx[:, c].mean(), rel=1e-12)
        assert ds.std[c] == pytest.approx(allx[:, c].std(), rel=1e-12)
    z = ds.preprocess(ds.x_train.reshape(60, -1)).reshape(60, 3, -1)
    assert np.allclose(z.mean(axis=(0, 2)), 0.0, atol=1e-4)
    assert np.allclose(z.std(axis=(0, 2)), 1.0, atol=1e-3)
    split = make_scenario(ds, "split")
    assert len(split) == 5 and split[0].x_train.shape[1] == IMG


def test_cifar100_binary_domain_scenario(tmp_path):
    d = tmp_path / "cifar-100-binary"
    written = write_cifar100(d)
    ds = load_dataset("cifar100", data_dir=str(d))
    assert ds.n_classes == 100
    assert np.array_equal(ds.coarse_train, written["train"][2])
    assert np.array_equal(ds.y_train, written["train"][1])
    tasks = make_scenario(ds, "domain")
    assert [t.name for t in tasks] == ["super0", "super1", "super2"]
    assert [t.classes for t in tasks] == [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14)]
    assert all(set(np.unique(t.y_test)) == set(t.classes) for t in tasks)
    with pytest.raises(L5SimError, match="scenario: got 'domain'"):
        make_scenario(dataclasses.replace(ds, coarse_train=None, coarse_test=None), "domain")


def test_cifar_bad_files_are_explained(tmp_path):
    with pytest.raises(DatasetError, match="binary version"):
        load_dataset("cifar10", data_dir=str(tmp_path))
    p = tmp_path / "train.bin"
    p.write_bytes(b"\x00" * (IMG + 1 + 5))
    with pytest.raises(DatasetError, match="whole number of 3073-byte records"):
        load_cifar_bin(str(p), 1)
