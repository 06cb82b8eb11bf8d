"""Learning-rate schedules with the numerics of ``torch.optim.lr_scheduler``.

A schedule owns no parameters: it sets ``optimizer.lr``, which every optimizer reads afresh at each
step. ``step()`` is called after the update it follows (after every epoch or every iteration, as the
training configuration declares), so update k (counting from 0) uses the learning rate after k calls.

Torch steps a schedule with its *chained* (recursive) form, ``get_lr()``: each new rate is computed
from the rate currently in the optimizer, not from a closed formula of the step count. Closed forms
(``_get_closed_form_lr``) are only used when ``step(epoch)`` is given an epoch, and by
:class:`SequentialLR` at a milestone. The two differ in the last bits (a cosine schedule's chained
rates drift by ~1e-16 relative from the closed formula, a linear warm-up's last rate is not exactly
the base rate), so TrainLab computes exactly what torch computes, in the same order of operations:

=================  =====================================================================  ==============
schedule           chained form, t = ``last_epoch`` (η_t from η_{t−1})                    closed form
=================  =====================================================================  ==============
StepLR             η_t = η_{t−1}·γ if t > 0 and t mod s = 0, else η_{t−1}                 η₀·γ^⌊t/s⌋
MultiStepLR        η_t = η_{t−1}·γ^c(t), c(t) = how often t is a milestone                η₀·γ^#{m ≤ t}
ExponentialLR      η_t = η_{t−1}·γ                                                        η₀·γ^t
CosineAnnealingLR  η_t = (1 + cos(πt/T)) / (1 + cos(π(t−1)/T))·(η_{t−1} − η_min) + η_min,   η_min + (η₀ − η_min)
                   and η_t = η_{t−1} + (η₀ − η_min)(1 − cos(π/T))/2 when (t−1−T) mod 2T = 0   ·(1 + cos(πt/T))/2
LinearLR           η₀·f₀ at t = 0; η_t = η_{t−1}·(1 + (f₁ − f₀)/(T·f₀ + (t−1)(f₁ − f₀)))      η₀(f₀ + (f₁−f₀)
                   for 1 ≤ t ≤ T; then unchanged                                          ·min(T, t)/T)
=================  =====================================================================  ==============

(η₀ is the base rate, the optimizer's lr when the schedule was made.) The cosine keeps going past
T_max: it climbs back to η₀ at 2T, as torch's does (no restarts, no clamp).

:class:`SequentialLR` runs one schedule after another (a warm-up, then a decay), switching at
milestones; at a milestone the next schedule starts from its closed form at 0, i.e. from η₀.
:class:`ReduceLROnPlateau` multiplies η by ``factor`` when a metric stops improving.

What a new η does depends on the optimizer's form. Every optimizer's step is proportional to the
η of that step — except Momentum and Nesterov with ``lr_in_velocity`` (the book's v ← μv − ηg,
θ ← θ + v), where η only scales the newest gradient and the velocity keeps every old η; in torch's
form (b ← μb + g, θ ← θ − ηb) a new η rescales the whole step at once. AdamW's decoupled decay
θ(1 − ηλ) and AdaGrad's η/(1 + (t−1)·lr_decay) use the scheduled η as well, as in torch.

Every schedule has ``state_dict()`` (JSON-able) and ``load_state_dict()``: with the optimizer's lr
(which the trainer checkpoints beside it) they continue exactly where they stopped.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter

__all__ = ["LRSchedule", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "SequentialLR", "ReduceLROnPlateau"]


class LRSchedule:
    """Base class, as torch's ``LRScheduler``: construction takes the initial step (t = 0), which
    leaves the rate at η₀ (LinearLR: η₀·f₀); ``step()`` moves to t + 1 with the chained form."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = -1
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def step(self) -> None:
        """One step of the schedule: t ← t + 1, then η from the chained form."""
        self._step_count += 1
        self.last_epoch += 1
        self.optimizer.lr = self.get_lr(self.optimizer.lr)

    def _update_lr(self, epoch: int) -> None:
        """Jump to step ``epoch`` with the closed form (torch's ``step(epoch)``; SequentialLR's milestone)."""
        self.last_epoch = epoch
        self.optimizer.lr = self.closed_form_lr()

    def get_lr(self, lr: float) -> float:
        raise NotImplementedError

    def closed_form_lr(self) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "step_count": self._step_count, "base_lr": self.base_lr}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch = int(state["last_epoch"])
        self._step_count = int(state["step_count"])
        self.base_lr = float(state["base_lr"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(t={self.last_epoch}, lr={self.optimizer.lr!r})"


class StepLR(LRSchedule):
    """η ← η·γ every ``step_size`` steps: η_t = η₀·γ^⌊t/step_size⌋."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def get_lr(self, lr):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lr
        return lr * self.gamma

    def closed_form_lr(self):
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(LRSchedule):
    """η ← η·γ at each milestone (a milestone given twice multiplies by γ²): η_t = η₀·γ^#{m ≤ t}."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1):
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def get_lr(self, lr):
        if self.last_epoch not in self.milestones:
            return lr
        return lr * self.gamma ** self.milestones[self.last_epoch]

    def closed_form_lr(self):
        return self.base_lr * self.gamma ** bisect_right(sorted(self.milestones.elements()), self.last_epoch)


class ExponentialLR(LRSchedule):
    """η ← η·γ every step: η_t = η₀·γ^t (computed as the running product, as torch does)."""

    def __init__(self, optimizer, gamma: float):
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def get_lr(self, lr):
        return lr if self._is_initial else lr * self.gamma

    def closed_form_lr(self):
        return self.base_lr * self.gamma ** self.last_epoch


class CosineAnnealingLR(LRSchedule):
    """η_t = η_min + (η₀ − η_min)(1 + cos(πt/T_max))/2, computed by torch's recursion (module docstring):
    each rate from the previous one, so the sequence is torch's to the last bit, not the formula's."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer)

    def get_lr(self, lr):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return lr
        if (t - 1 - T) % (2 * T) == 0:  # the previous rate was η_min: the ratio below would be 0/0
            return lr + (self.base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - lo) + lo

    def closed_form_lr(self):
        lo = self.eta_min
        return lo + (self.base_lr - lo) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2


class LinearLR(LRSchedule):
    """A linear ramp of the factor from ``start_factor`` f₀ to ``end_factor`` f₁ over ``total_iters`` T
    steps (a warm-up when f₀ < f₁ = 1): η_t = η₀(f₀ + (f₁ − f₀)·min(T, t)/T), chained as torch does."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5):
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = int(total_iters)
        super().__init__(optimizer)

    def get_lr(self, lr):
        f0, f1, t = self.start_factor, self.end_factor, self.last_epoch
        if t == 0:
            return lr * f0
        if self._is_initial or t > self.total_iters:
            return lr
        return lr * (1.0 + (f1 - f0) / (self.total_iters * f0 + (t - 1) * (f1 - f0)))

    def closed_form_lr(self):
        f0, f1 = self.start_factor, self.end_factor
        return self.base_lr * (f0 + (f1 - f0) * min(self.total_iters, self.last_epoch) / self.total_iters)


class SequentialLR:
    """``schedules[i]`` runs from step ``milestones[i−1]`` (its own step 0, its closed form: η₀) until
    the next milestone, as torch's ``SequentialLR``: e.g. a LinearLR warm-up for W steps, then a
    cosine whose T_max counts from W. Build the schedules first, in order, on the same optimizer."""

    def __init__(self, optimizer, schedules: list[LRSchedule], milestones: list[int]):
        if len(schedules) < 1 or len(milestones) != len(schedules) - 1:
            raise ValueError(f"SequentialLR needs one milestone fewer than schedules, got {len(schedules)} "
                             f"schedules and {len(milestones)} milestones")
        if any(s.optimizer is not optimizer for s in schedules):
            raise ValueError("SequentialLR: every schedule must set the same optimizer")
        self.optimizer, self._schedules, self._milestones = optimizer, list(schedules), [int(m) for m in milestones]
        self.last_epoch = 0
        # torch: every schedule's base is the optimizer's "initial_lr" (the rate before the first was
        # made); the rate goes back to it and the steps the constructors took are undone
        base = schedules[0].base_lr
        optimizer.lr = base
        for s in schedules:
            s.base_lr = base
            s.last_epoch -= 1
        self._schedules[bisect_right(self._milestones, 0)]._initial_step()

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            self._schedules[idx]._update_lr(0)
        else:
            self._schedules[idx].step()

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "schedules": [s.state_dict() for s in self._schedules]}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch = int(state["last_epoch"])
        for s, d in zip(self._schedules, state["schedules"], strict=True):
            s.load_state_dict(d)

    def __repr__(self) -> str:
        inner = ", ".join(type(s).__name__ for s in self._schedules)
        return f"SequentialLR([{inner}], milestones={self._milestones}, t={self.last_epoch}, lr={self.optimizer.lr!r})"


class ReduceLROnPlateau:
    """Multiply η by ``factor`` when a metric has not improved for more than ``patience`` steps
    (torch's ``ReduceLROnPlateau``, stepped with the metric: ``step(value)``).

    Improvement of value a over the best so far b (b starts at +∞ for 'min', −∞ for 'max'):
    'min'/'rel': a < b(1 − threshold); 'min'/'abs': a < b − threshold; 'max'/'rel': a > b(1 + threshold);
    'max'/'abs': a > b + threshold. A NaN is never an improvement. Each step without improvement
    counts one bad step (none while a cooldown runs down); when the count exceeds ``patience``:
    η ← max(η·factor, min_lr), unless that changes η by no more than ``eps``; then the count restarts
    and ``cooldown`` steps are ignored.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                 eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor must be < 1")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} / threshold_mode {threshold_mode!r}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.min_lr, self.eps = int(cooldown), float(min_lr), float(eps)
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metric: float) -> None:
        current = float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps during a cooldown do not count
        if self.num_bad_epochs > self.patience:
            old = float(self.optimizer.lr)
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch = int(state["last_epoch"])
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, patience={self.patience}, "
                f"best={self.best!r}, bad={self.num_bad_epochs}, lr={self.optimizer.lr!r})")
