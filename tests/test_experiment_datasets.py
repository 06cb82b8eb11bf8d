"""Every experiment that trains on data runs on any four-file IDX dataset (``data_dir``).

The dataset is written here: 600 training and 200 test images of 20×20 random pixels, labels 0..9
(every class present in both splits). 20×20 rather than MNIST's 28×28, so an input size of 784
left anywhere in an experiment would crash the run; the input size and number of classes must come
from the data (``common.dims``). Each experiment runs once at its reduced size (every reduced size fits
600 training images); on random images a claim may well fail, so only the run's status and its files
are asserted. ``search`` is left out
(another branch moves it onto the search machinery), and so is every experiment that uses no data.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from trainlab.data import idx
from trainlab.experiments import get, names
from trainlab.experiments.config import resolve_config
from trainlab.experiments.runner import run_experiment
from trainlab.validate import ConfigError

N_TRAIN, N_TEST, HW, CLASSES = 600, 200, (20, 20), 10
WITH_DATA = [n for n in names() if n != "search" and get(n).uses_data]


def _idx(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(f">i{array.ndim}i", magic, *array.shape) + np.ascontiguousarray(array, np.uint8).tobytes()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx-20x20")
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, *HW), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.permutation(np.arange(N_TRAIN) % CLASSES).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, *HW), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.permutation(np.arange(N_TEST) % CLASSES).astype(np.uint8),
    }
    for stem, a in arrays.items():
        (folder / stem).write_bytes(_idx(idx.IMAGES_MAGIC if a.ndim == 3 else idx.LABELS_MAGIC, a))
    return folder


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    """The decoded-dataset cache goes to a temporary folder, never the user's."""
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path_factory.getbasetemp() / "trainlab-cache"))


def test_the_experiments_with_data_are_the_eight_but_search_and_the_three_instruments():
    assert WITH_DATA == ["optimizer-mnist", "activation-histograms", "init-mnist", "batchnorm", "overfitting",
                         "dropout", "ensemble", "schedules", "early-stopping", "diagnostics"]
    assert not get("optimizer-race").uses_data and "data_dir" not in resolve_config("optimizer-race")


@pytest.mark.parametrize("name", WITH_DATA)
def test_runs_reduced_on_another_idx_dataset(name, data_dir, tmp_path):
    run_dir = tmp_path / name
    result = run_experiment(name, seeds=1, out_dir=run_dir, reduced=True, workers=1, progress=False,
                            data_dir=data_dir)
    assert result["status"] == "completed", result.get("error") or result.get("message")
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["config"]["data_dir"] == str(data_dir.resolve())
    assert manifest["data"] == {"dataset": "idx", "data_dir": str(data_dir.resolve()), "name": data_dir.name}
    for rel in ("summary.json", "claims.json", "seeds/seed-0.json"):
        assert (run_dir / rel).is_file(), rel
    claims = json.loads((run_dir / "claims.json").read_text())
    assert claims and manifest["claims"] == {"n": len(claims), "passed": sum(c["passed"] for c in claims)}
    seed = json.loads((run_dir / "seeds" / "seed-0.json").read_text())
    if seed.get("histories"):
        assert (run_dir / "seeds" / "seed-0.csv").is_file()
    assert manifest["figures"]
    for fig in manifest["figures"]:
        for ext in ("png", "svg"):
            assert (run_dir / "figures" / f"{fig}.{ext}").stat().st_size > 1000, (fig, ext)


@pytest.mark.parametrize("name, key", [("batchnorm", "train_size"), ("overfitting", "train_size"),
                                       ("dropout", "train_size"), ("ensemble", "train_size"),
                                       ("activation-histograms", "mnist_samples"), ("early-stopping", "train_size")])
def test_asking_for_more_training_images_than_the_dataset_has_is_refused(name, key, data_dir):
    assert resolve_config(name, {key: N_TRAIN}, data_dir=data_dir)[key] == N_TRAIN
    with pytest.raises(ConfigError) as exc:
        resolve_config(name, {key: N_TRAIN + 1}, data_dir=data_dir)
    assert exc.value.field == key and f"{N_TRAIN} training images of {data_dir.resolve()}" in str(exc.value)


@pytest.mark.parametrize("name", ["schedules", "diagnostics"])
def test_the_training_and_validation_images_must_not_overlap(name, data_dir):
    """These two train on the first train_size images and validate on the last val_size ones."""
    config = resolve_config(name, {"train_size": 500, "val_size": 100}, data_dir=data_dir)
    assert (config["train_size"], config["val_size"]) == (500, 100)
    with pytest.raises(ConfigError) as exc:
        resolve_config(name, {"train_size": 500, "val_size": 101}, data_dir=data_dir)
    assert exc.value.field == "val_size" and f"the {N_TRAIN} training images" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        resolve_config(name, {"train_size": N_TRAIN + 1, "val_size": 1}, data_dir=data_dir)
    assert exc.value.field == "train_size"
