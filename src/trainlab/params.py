"""One contiguous parameter buffer and one matching gradient buffer.

Every layer reads and writes *views* of ``data`` and ``grad``; an optimizer updates the whole
buffer with a handful of NumPy calls. Views are never rebound: updates write into them in
place, so ``view.base is data`` holds for the life of the model.

Layout: all decayed weight matrices come first, then everything else (biases, gamma, beta), so
the book's weight decay ½λ‖W‖² touches one leading slice, ``data[:n_decay]``.
State that is not trained (BatchNorm running mean/var) lives in ``buffers``, apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ParamBuffer", "ParamSlot", "BLOCK"]

#: Elements per block of a whole-buffer elementwise pass (the optimizers' updates, the weight-decay
#: gradient): 512 KiB per float32 array, so the few arrays one block touches stay in cache between
#: its passes instead of streaming the whole buffer from memory once per pass. A buffer this size or
#: smaller (784-100×4-10 has 109,386 elements) is one block.
BLOCK = 1 << 17


@dataclass(frozen=True)
class ParamSlot:
    """Where one named parameter lives in the flat buffer."""

    name: str
    shape: tuple[int, ...]
    offset: int
    decay: bool

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class ParamBuffer:
    """A flat ``data`` buffer, a flat ``grad`` buffer of the same size, and name → view maps.

    Build it with :meth:`allocate` from ``(name, shape, decay)`` triples.
    """

    data: np.ndarray
    grad: np.ndarray
    slots: dict[str, ParamSlot]
    n_decay: int
    buffers: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def allocate(cls, entries: list[tuple[str, tuple[int, ...], bool]], dtype=np.float32) -> "ParamBuffer":
        """Lay out ``entries`` (name, shape, decay) with every decayed entry first."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        names = [e[0] for e in entries]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {names}")
        ordered = [e for e in entries if e[2]] + [e for e in entries if not e[2]]
        slots: dict[str, ParamSlot] = {}
        offset = 0
        n_decay = 0
        for name, shape, decay in ordered:
            slot = ParamSlot(name, tuple(int(s) for s in shape), offset, bool(decay))
            slots[name] = slot
            offset += slot.size
            if decay:
                n_decay = offset
        return cls(np.zeros(offset, dtype), np.zeros(offset, dtype), slots, n_decay)

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def _view(self, flat: np.ndarray, name: str) -> np.ndarray:
        s = self.slots[name]
        return flat[s.offset : s.offset + s.size].reshape(s.shape)

    def view(self, name: str) -> np.ndarray:
        """The parameter ``name`` as a view of ``data``."""
        return self._view(self.data, name)

    def grad_view(self, name: str) -> np.ndarray:
        """The gradient of ``name`` as a view of ``grad``."""
        return self._view(self.grad, name)

    def views(self) -> dict[str, np.ndarray]:
        return {name: self.view(name) for name in self.slots}

    def grad_views(self) -> dict[str, np.ndarray]:
        return {name: self.grad_view(name) for name in self.slots}

    @property
    def decayed(self) -> np.ndarray:
        """The leading slice of ``data`` that holds every decayed weight."""
        return self.data[: self.n_decay]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters and the untrained buffers, keyed ``param/NAME``, ``buffer/NAME``."""
        out = {f"param/{k}": v.copy() for k, v in self.views().items()}
        out.update({f"buffer/{k}": v.copy() for k, v in self.buffers.items()})
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy a :meth:`state_dict` back *into* the existing views (never rebinding them)."""
        for name in self.slots:
            key = f"param/{name}"
            if key not in state:
                raise KeyError(f"state has no entry {key!r}")
            src = np.asarray(state[key])
            dst = self.view(name)
            if src.shape != dst.shape:
                raise ValueError(f"{key}: shape {src.shape} does not match the model's {dst.shape}")
            dst[...] = src
        for name, buf in self.buffers.items():
            key = f"buffer/{name}"
            if key in state:
                buf[...] = state[key]
