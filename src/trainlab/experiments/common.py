"""What several experiments share: the dataset (loaded once per process), the same-batch training
of several nets, and the book's small-net set-up of §6.4 (300 samples, 784-[100]*6-10, SGD).

Every curve an experiment records is a history dict (:class:`trainlab.history.History`), so the
run record, ``trainlab compare`` and the report read every experiment's curves the same way.
"""

from __future__ import annotations

import math

import numpy as np

from ..curves import mean_band, smooth_curve
from ..history import History

__all__ = ["dataset", "dims", "check_train_count", "check_train_val", "train_val_split", "history", "train_same_batches", "smoothed_summary", "train_small_net",
           "summarize_variant", "final_stats", "OPTIMIZER_LABELS", "OPTIMIZER_MARKERS"]

OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "adam": "Adam",
                    "rmsprop": "RMSProp", "nesterov": "Nesterov", "adamw": "AdamW"}
OPTIMIZER_MARKERS = {"sgd": "o", "momentum": "x", "adagrad": "s", "adam": "D", "rmsprop": "^", "nesterov": "v",
                     "adamw": "P"}


def dataset(config: dict):
    """((x_train, t_train), (x_test, t_test)) of the experiment's dataset (``config['data_dir']``,
    None = the bundled MNIST), float32 in [0, 1], decoded once per process."""
    from ..data import load_arrays

    return load_arrays(config.get("data_dir"))


def dims(config: dict) -> tuple[int, int]:
    """(input size, number of classes) of the experiment's dataset."""
    (x, t), (_, tt) = dataset(config)
    return int(np.prod(x.shape[1:])), int(max(t.max(), tt.max())) + 1


def check_train_count(config: dict, *keys: str) -> None:
    """ConfigError naming the key when ``config[key]`` asks for more training images than the
    dataset of ``config['data_dir']`` has (its first N would silently be fewer than N). A dataset
    that cannot be read is left to whoever loads it: ``trainlab run`` says what is wrong with it
    before anything is written."""
    from ..data import DataError, dataset_info
    from ..validate import ConfigError

    try:
        n_train = dataset_info(config.get("data_dir")).n_train
    except (DataError, OSError):
        return
    where = config.get("data_dir") or "the bundled MNIST"
    for key in keys:
        if int(config[key]) > n_train:
            raise ConfigError(key, f"{key} ({config[key]}) is more than the {n_train} training images of {where}")


def check_train_val(config: dict, train_key: str, val_key: str) -> None:
    """ConfigError naming ``val_key`` when the first ``config[train_key]`` training images (trained
    on) and the last ``config[val_key]`` (the validation split, :func:`train_val_split`) overlap."""
    from ..data import DataError, dataset_info
    from ..validate import ConfigError

    check_train_count(config, train_key)
    try:
        n_train = dataset_info(config.get("data_dir")).n_train
    except (DataError, OSError):
        return
    if config[train_key] + config[val_key] > n_train:
        raise ConfigError(val_key, f"{train_key} + {val_key} ({config[train_key]} + {config[val_key]}) is more than "
                                   f"the {n_train} training images: the two must not overlap")


def train_val_split(config: dict, train_key: str, val_key: str):
    """A :class:`~trainlab.trainer.Data` of the first ``config[train_key]`` training images and, as
    the validation split, the last ``config[val_key]`` ones (no test split: it decides nothing)."""
    from ..trainer import Data

    (x, t), _ = dataset(config)
    n, v = int(config[train_key]), int(config[val_key])
    return Data(x[:n], t[:n], x[len(x) - v:], t[len(x) - v:])


def history(iter_loss=(), epochs=(), message: str = "") -> dict:
    """A history dict; its status is ``diverged`` when a loss is NaN/inf, else ``completed``."""
    iter_loss = [float(v) for v in iter_loss]
    epochs = [dict(r) for r in epochs]
    bad = any(not math.isfinite(v) for v in iter_loss) or any(
        isinstance(v, float) and not math.isfinite(v) for r in epochs for v in r.values())
    return History(iter_loss=iter_loss, epochs=epochs, status="diverged" if bad else "completed",
                   message=message or ("a loss became NaN or inf" if bad else "")).to_dict()


def train_same_batches(nets: dict, x, t, iterations: int, batch_size: int, rng: np.random.Generator,
                       record: str = "pre") -> dict[str, dict]:
    """Train every ``(model, optimizer)`` of ``nets`` on the same with-replacement batch each iteration.

    Returns a history per net whose ``iter_loss`` is the mini-batch loss of every iteration: before
    its update (``record='pre'``) or after it on the same batch, in inference mode (``'post'``, the
    book's). A diverged net keeps producing NaN (it is not stopped, so the others see the same batches).
    """
    if record not in ("pre", "post"):
        raise ValueError(f"recorded_loss must be 'pre' or 'post', got {record!r}")
    n = x.shape[0]
    losses = {name: np.empty(iterations) for name in nets}
    with np.errstate(all="ignore"):
        for it in range(iterations):
            idx = rng.integers(0, n, size=batch_size)
            xb, tb = x[idx], t[idx]
            for name, (model, opt) in nets.items():
                loss = model.gradient(xb, tb, check=False)
                opt.step()
                if record == "post":
                    loss = model.loss(xb, tb, check=False)
                losses[name][it] = loss
    return {name: history(iter_loss=v) for name, v in losses.items()}


def check_final_window(config: dict) -> None:
    """The 'final' smoothed loss averages the last ``final_window`` iterations: at most ``iterations``."""
    from ..validate import ConfigError

    if config["final_window"] > config["iterations"]:
        raise ConfigError("final_window", f"final_window ({config['final_window']}) must be at most "
                                          f"iterations ({config['iterations']})")


def smoothed_summary(runs: list[dict], names, window: int = 100, at=(0, 100, 500, 1000, 1900)) -> dict:
    """Per net of ``runs[k]['histories']``: the book-smoothed ``iter_loss`` per seed, its mean and
    min–max band over seeds, "final" (the mean of the last ``window`` smoothed points, averaged over
    seeds) and the mean curve at the iterations ``at``."""
    out = {}
    for name in names:
        smoothed = np.array([smooth_curve(np.array(r["histories"][name]["iter_loss"], dtype=float)) for r in runs])
        band = mean_band(smoothed)
        finals = [float(np.mean(s[-window:])) for s in smoothed]
        mean = np.asarray(band["mean"])
        out[name] = {
            "smoothed": band,
            "final_per_seed": finals,
            "final": float(np.mean(finals)),
            "at": {str(i): float(mean[i]) for i in at if i < len(mean)},
        }
    return out


# -- the book's small net of §6.4 ---------------------------------------------------------------------
def small_net_keys(epochs: int, epochs_help: str, curve_low: int = 0) -> dict:
    """The declared keys of the §6.4 set-up that overfitting, dropout and ensemble share."""
    from ..model import DTYPES
    from ..trainer import SAMPLINGS
    from .keys import Choice, Float, Int, Ints

    return {
        "train_size": Int(300, "train on the first N training images (the book's 300)", low=1),
        "hidden_sizes": Ints([100] * 6, "hidden layer widths (the book's 784-[100]*6-10, ReLU, He)", high=4096,
                             max_len=32),
        "lr": Float(0.01, "SGD's learning rate η", low=0, low_open=True),
        "batch_size": Int(100, "mini-batch size (3 updates per epoch on 300 images)", low=1, high=60_000),
        "epochs": Int(epochs, epochs_help, low=1, high=10_000),
        "sampling": Choice("replacement", SAMPLINGS, "mini-batches drawn with replacement (the book's "
                           "Trainer) or a fresh order every epoch"),
        "curve_test_samples": Int(2000, "per-epoch test curve on the first N test images (speed"
                                  + ("; 0: none" if curve_low == 0 else "") + "); the final test accuracy is "
                                  "always on all of them", low=curve_low, high=10_000),
        "dtype": Choice("float32", DTYPES, "parameter dtype"),
    }


def train_small_net(config: dict, seed: int, *, weight_decay: float = 0.0, dropout: float = 0.0,
                    convention: str = "inverted", epochs: int | None = None, callbacks=(), val_size: int = 0,
                    early_stop: str | None = None) -> tuple:
    """Train the book's 784-[100]*6-10 net (``config['hidden_sizes']``) on the first ``train_size``
    training samples with SGD; returns ``(model, history dict, finals)``.

    ``val_size`` > 0 holds the last ``val_size`` of those samples out as the validation split (the
    net trains on the first ``train_size − val_size``); ``early_stop`` is a
    :attr:`~trainlab.trainer.TrainConfig.early_stop` spec on it (the test split never decides).
    The history's test curve is on the first ``curve_test_samples`` test images (none when 0); the
    finals are the accuracies on the samples trained on and on the full test set, and their gap.
    """
    from ..model import ModelSpec
    from ..trainer import Data, TrainConfig, fit

    (x_train, t_train), (x_test, t_test) = dataset(config)
    input_size, classes = dims(config)
    n, k = int(config["train_size"]), int(config["curve_test_samples"])
    m = n - int(val_size)
    data = Data(x_train[:m], t_train[:m], x_train[m:n] if val_size else None, t_train[m:n] if val_size else None,
                x_test=x_test[:k] if k > 0 else None, t_test=t_test[:k] if k > 0 else None)
    spec = ModelSpec(input_size=input_size, hidden_sizes=tuple(config["hidden_sizes"]), output_size=classes,
                     activation="relu", init="he", weight_decay=float(weight_decay),
                     dropout=float(dropout), dropout_convention=convention, dtype=config["dtype"])
    train_config = TrainConfig(epochs=int(epochs if epochs is not None else config["epochs"]),
                               batch_size=int(config["batch_size"]), optimizer="sgd",
                               optimizer_params={"lr": float(config["lr"])}, sampling=config["sampling"],
                               seed=int(seed), checkpoint_every=10**9, early_stop=early_stop)
    model, h = fit(spec, data, train_config, callbacks=callbacks)
    with np.errstate(all="ignore"):
        finals = {"final_train_acc": float(model.accuracy(x_train[:m], t_train[:m])),
                  "final_test_acc": float(model.accuracy(x_test, t_test))}
    finals["gap"] = finals["final_train_acc"] - finals["final_test_acc"]
    return model, h.to_dict(), finals


def final_stats(values: list[float]) -> dict:
    """Mean, std, min, max and the values of one final number over seeds."""
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "values": [float(v) for v in a]}


def summarize_variant(histories: list[dict], finals: list[dict], test_curve_samples: int) -> dict:
    """Curves (mean and min–max band over seeds) and final numbers of one variant of the small net."""
    epochs = [int(r["epoch"]) for r in histories[0]["epochs"]]
    out = {"epoch": epochs,
           "train_acc": mean_band([[r["train_acc"] for r in h["epochs"]] for h in histories])}
    if "test_acc" in histories[0]["epochs"][0]:
        out["test_acc"] = mean_band([[r["test_acc"] for r in h["epochs"]] for h in histories])
    for key in ("final_train_acc", "final_test_acc", "gap"):
        out[key] = final_stats([f[key] for f in finals])
    out["max_train_acc"] = max(max(r["train_acc"] for r in h["epochs"]) for h in histories)
    out["test_curve_samples"] = test_curve_samples
    return out
