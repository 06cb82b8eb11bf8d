"""Training diagnostics: what every layer of the net does, epoch by epoch (``TrainConfig.diagnostics``).

After every epoch (and at epoch 0, before training) the epoch record gets, for hidden layer l
(``h1`` … ``hL``, the output of its activation) and affine layer i (``W1`` … ``W{L+1}``, ``b…``):

  act_mean.hl, act_std.hl   mean and std of the activations z over the probe batch and the units
  saturated.hl              sigmoid: the fraction of z < 0.01 or z > 0.99 (there σ'(a) = z(1 − z) < 0.0099,
                            under 4 % of its peak 0.25: |a| > ln 99 ≈ 4.6); tanh: the fraction of |z| > 0.99
                            (tanh'(a) = 1 − z² < 0.02, under 2 % of its peak 1: |a| > 2.65)
  dead.hl, zeros.hl         ReLU: the fraction of units that are exactly 0 for every sample of the probe
                            batch (dead: no gradient reaches their weights from these samples), and
                            the fraction of all activations that are exactly 0
  grad_norm.Wi, grad_norm.bi  ‖∂L/∂W_i‖ (Frobenius), the mean over the epoch's updates of the norm of
                            that layer's view of the flat gradient buffer, read before each update
                            (before clipping; the weight-decay term included, as the optimizer gets it)
  update_ratio.Wi           ‖W_i(end) − W_i(start)‖ / ‖W_i(start)‖ over the epoch (left out while ‖W_i‖ = 0)

The activation statistics come from one inference-mode forward of a fixed **probe batch**, the first
``probe`` (500) training samples: one small forward per epoch, the same samples every epoch, and no
random number drawn (so a run with diagnostics trains exactly as one without). The gradient norms
are averaged over the epoch's updates rather than taken from its last one: the norm of one
mini-batch's gradient varies by tens of per cent from batch to batch, and the last batch of an epoch
may be a short remainder; the mean costs one dot product per layer per update (~1 % of a step).

Optionally, histograms of every hidden layer's activations after chosen epochs (30 bins; sigmoid on
[0, 1], tanh on [−1, 1], ReLU on [0, max] with the exact zeros left out and counted as ``zeros``, as
:mod:`trainlab.experiments.activation_histograms` draws them) go into ``History.diagnostics``, with
what the keys mean. The history is checkpointed, so a resumed run ends with the same diagnostics.

Spec (``--diagnostics``, one grammar with :mod:`trainlab.instruments`):
``on[:PROBE][:hist=E1,E2,…]`` or ``hist:E1,E2,…[:probe=N]``, e.g. ``on``, ``on:1000``, ``hist:0,5,10``;
stored in the canonical form ``on:probe=500`` / ``on:probe=500:hist=0,5,10``.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

import numpy as np

from .instruments import _int, _items, _Param
from .layers import ACTIVATIONS
from .validate import ConfigError

__all__ = ["DIAGNOSTICS_SYNTAX", "parse_diagnostics", "canonical_diagnostics", "diagnostics_option", "Diagnostics",
           "probe_activations", "activation_stats", "layer_names", "key", "has_diagnostics", "SATURATION",
           "HIST_BINS", "DEFAULT_PROBE"]

DIAGNOSTICS_SYNTAX = "on[:PROBE][:hist=E1,E2,…] or hist:E1,E2,…[:probe=N] (e.g. on, hist:0,5,10)"
DEFAULT_PROBE = 500
HIST_BINS = 30
#: what "saturated" means for each squashing activation, in words (also written into the history)
SATURATION = {"sigmoid": "z < 0.01 or z > 0.99 (σ' < 0.0099, |a| > ln 99 ≈ 4.6)",
              "tanh": "|z| > 0.99 (tanh' < 0.02, |a| > 2.65)"}
_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


# -- the spec -------------------------------------------------------------------------------------
def _epochs(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "none":
        return ()
    values = tuple(int(e) for e in text.split(","))
    if values[0] < 0 or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError("not increasing")
    return values


_epochs.accepts = "increasing epochs >= 0 separated by commas (0: before training), or none"
_FORMS = {"on": (_Param("probe", _int(1), DEFAULT_PROBE), _Param("hist", _epochs, ())),
          "hist": (_Param("hist", _epochs), _Param("probe", _int(1), DEFAULT_PROBE))}


def parse_diagnostics(text) -> dict | None:
    """``{"probe": N, "hist": (epochs…)}`` of a spec; None for None, '', 'off' or 'none'."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "off", "none")):
        return None
    if not isinstance(text, str):
        raise ConfigError("diagnostics", f"diagnostics must be a text such as 'on' or 'hist:0,5,10', got {text!r}")
    head = text.split(":", 1)[0].strip().lower()
    if head not in _FORMS:
        raise ConfigError("diagnostics", f"diagnostics {text!r}: unknown form {head!r} (on or hist); the syntax "
                                         f"is {DIAGNOSTICS_SYNTAX}")
    values = _items("diagnostics", text, head, _FORMS[head], DIAGNOSTICS_SYNTAX)
    return {"probe": values["probe"], "hist": values["hist"]}


def canonical_diagnostics(text) -> str | None:
    parsed = parse_diagnostics(text)
    if parsed is None:
        return None
    out = f"on:probe={parsed['probe']}"
    return out + (f":hist={','.join(map(str, parsed['hist']))}" if parsed["hist"] else "")


def diagnostics_option(text: str):
    """argparse type of ``--diagnostics``: the canonical text, or a usage error."""
    try:
        return canonical_diagnostics(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- names ----------------------------------------------------------------------------------------
def key(stat: str, layer: str) -> str:
    """The epoch-record key of one statistic of one layer: ``act_std.h1``, ``grad_norm.W3``."""
    return f"{stat}.{layer}"


def layer_names(n_hidden: int) -> tuple[list[str], list[str]]:
    """``(["h1", …, "hL"], ["1", …, "L+1"])``: the hidden layers and the affine layers' numbers."""
    return [f"h{i}" for i in range(1, n_hidden + 1)], [str(i) for i in range(1, n_hidden + 2)]


def has_diagnostics(history: dict) -> bool:
    """Whether a history dict was recorded with diagnostics on."""
    return isinstance(history.get("diagnostics"), dict) and bool(history["diagnostics"].get("hidden"))


# -- the statistics -------------------------------------------------------------------------------
def probe_activations(model, x: np.ndarray) -> list[np.ndarray]:
    """The output of every hidden activation layer of ``model`` on ``x``, inference mode (the model's
    own layers run one by one; nothing of the model is changed but the layers' caches of their last
    input, which the next training step overwrites)."""
    out = []
    for layer in model.layers:
        x = layer.forward(x, False)
        if isinstance(layer, _ACTIVATION_TYPES):
            out.append(x)
    return out


def activation_stats(activation: str, z: np.ndarray) -> dict[str, float]:
    """The statistics of one layer's activations ``z`` (samples × units), as in the module docstring."""
    out = {"act_mean": float(np.mean(z, dtype=np.float64)), "act_std": float(np.std(z, dtype=np.float64))}
    if activation == "sigmoid":
        out["saturated"] = float(np.mean((z < 0.01) | (z > 0.99)))
    elif activation == "tanh":
        out["saturated"] = float(np.mean(np.abs(z) > 0.99))
    elif activation == "relu":
        zero = z == 0
        out["dead"] = float(np.mean(zero.all(axis=0)))
        out["zeros"] = float(np.mean(zero))
    return out


def histogram(activation: str, z: np.ndarray) -> dict:
    """``{"counts", "range"}`` (+ ``"zeros"``, the fraction left out, for ReLU) of one layer."""
    out = {}
    if activation == "sigmoid":
        lo, hi, values = 0.0, 1.0, z
    elif activation == "tanh":
        lo, hi, values = -1.0, 1.0, z
    else:
        values = z[z > 0]
        top = float(values.max()) if values.size else 0.0
        lo, hi = 0.0, top if top > 0 and math.isfinite(top) else 1.0
        out["zeros"] = float(np.mean(z == 0))
    counts, _ = np.histogram(values[np.isfinite(values)], bins=HIST_BINS, range=(lo, hi))
    return {"counts": counts.tolist(), "range": [lo, hi], **out}


class Diagnostics:
    """The diagnostics of one training run (built by the trainer when ``config.diagnostics`` is set)."""

    def __init__(self, spec: str, model, x_train: np.ndarray):
        parsed = parse_diagnostics(spec)
        self.model, self.params = model, model.params
        self.probe = x_train[: parsed["probe"]]
        self.hist_epochs = set(parsed["hist"])
        self.activation = model.spec.activation
        self.hidden, self.affine = layer_names(len(model.spec.hidden_sizes))
        slots = self.params.slots
        # where each W_i and b_i lies in the flat buffers: gradient norms per update are dot products
        self._grad_names = [f"{p}{i}" for i in self.affine for p in ("W", "b")]
        self._grad_views = [self.params.grad_view(name).reshape(-1) for name in self._grad_names]  # never rebound
        self._squares: list[list] = []  # per update, ‖g‖² of every view
        self._before = None
        self.restart()

    def describe(self) -> dict:
        """What the keys mean, for ``History.diagnostics``."""
        return {"activation": self.activation, "probe_samples": int(self.probe.shape[0]),
                "hidden": self.hidden, "affine": [f"W{i}" for i in self.affine],
                "saturated": SATURATION.get(self.activation),
                "dead": "a unit exactly 0 for every probe sample" if self.activation == "relu" else None,
                "grad_norm": "mean over the epoch's updates of ‖∂L/∂θ‖ (Frobenius) before clipping",
                "update_ratio": "‖W(end of epoch) − W(start)‖ / ‖W(start)‖",
                "histograms": {}}

    def restart(self) -> None:
        """Start an epoch from the model's current weights (after building or restoring the model)."""
        self._before = self.params.data.copy()
        self._squares = []

    def wrap_step(self, step: Callable[[], None]) -> Callable[[], None]:
        """``step`` preceded by reading every layer's gradient norm (before clipping and the update)."""
        views, dot = self._grad_views, np.dot

        def diagnosed_step():
            self._squares.append([dot(g, g) for g in views])  # square roots once per epoch
            step()
        return diagnosed_step

    def end_epoch(self, record: dict, history) -> None:
        """Add the epoch's statistics to ``record`` (and its histograms to ``history.diagnostics``)."""
        if history.diagnostics is None:
            history.diagnostics = self.describe()
        zs = probe_activations(self.model, self.probe)
        for name, z in zip(self.hidden, zs):
            for stat, value in activation_stats(self.activation, z).items():
                record[key(stat, name)] = value
        if self._squares:
            norms = np.sqrt(np.array(self._squares, dtype=np.float64)).mean(axis=0)
            for name, norm in zip(self._grad_names, norms):
                record[key("grad_norm", name)] = float(norm)
        if record["epoch"] > 0:
            data, before = self.params.data, self._before
            for i in self.affine:
                s = self.params.slots[f"W{i}"]
                w0 = before[s.offset:s.offset + s.size].astype(np.float64)
                norm0 = float(np.linalg.norm(w0))
                if norm0 > 0:
                    delta = data[s.offset:s.offset + s.size].astype(np.float64) - w0
                    record[key("update_ratio", f"W{i}")] = float(np.linalg.norm(delta)) / norm0
        if record["epoch"] in self.hist_epochs:
            history.diagnostics["histograms"][str(record["epoch"])] = {
                name: histogram(self.activation, z) for name, z in zip(self.hidden, zs)}
        self.restart()
