"""Small synthetic CIFAR files in the datasets' binary format (tests only)."""
import numpy as np

IMG = 3 * 32 * 32


def class_images(labels, rng):
    """Images whose mean brightness per channel encodes the label (learnable, not trivial)."""
    n = len(labels)
    base = rng.integers(0, 120, size=(n, 3, 32, 32))
    lab = np.asarray(labels)
    shift = np.stack([(lab * 37) % 128, (lab * 71) % 128, (lab * 13) % 128], axis=1)
    return np.clip(base + shift[:, :, None, None], 0, 255).astype(np.uint8)


def write_cifar10(d, n_per_class_train=6, n_per_class_test=3, seed=0):
    """cifar-10-batches-bin layout: data_batch_1..5.bin and test_batch.bin."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    labels = np.repeat(np.arange(10), n_per_class_train)
    rng.shuffle(labels)
    chunks = np.array_split(labels, 5)
    images = {}
    for i, lab in enumerate(chunks, start=1):
        x = class_images(lab, rng)
        rec = np.concatenate([lab.astype(np.uint8)[:, None], x.reshape(len(lab), IMG)], axis=1)
        (d / f"data_batch_{i}.bin").write_bytes(rec.tobytes())
        images[i] = (x, lab)
    lab = np.repeat(np.arange(10), n_per_class_test)
    x = class_images(lab, rng)
    rec = np.concatenate([lab.astype(np.uint8)[:, None], x.reshape(len(lab), IMG)], axis=1)
    (d / "test_batch.bin").write_bytes(rec.tobytes())
    images["test"] = (x, lab)
    return images


def write_cifar100(d, n_per_class_train=3, n_per_class_test=2, seed=0):
    """cifar-100-binary layout: train.bin and test.bin, records coarse byte, fine byte, pixels.
    Synthetic superclass map: coarse = fine // 5 (the real map differs; the format does not)."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in (("train", n_per_class_train), ("test", n_per_class_test)):
        fine = np.repeat(np.arange(100), n)
        rng.shuffle(fine)
        coarse = fine // 5
        x = class_images(fine, rng)
        rec = np.concatenate([coarse.astype(np.uint8)[:, None], fine.astype(np.uint8)[:, None],
                              x.reshape(len(fine), IMG)], axis=1)
        (d / f"{name}.bin").write_bytes(rec.tobytes())
        out[name] = (x, fine, coarse)
    return out
