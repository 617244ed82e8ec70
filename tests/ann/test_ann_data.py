"""Data loaders and scenarios (no torch needed)."""
import gzip

import numpy as np
import pytest

from l5sim.ann.data import DatasetError, load_dataset, load_idx, make_scenario


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
    z = ds.standardise(ds.x_train)
    assert abs(float(z.mean())) < 1e-4 and abs(float(z.std()) - 1) < 1e-3

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
