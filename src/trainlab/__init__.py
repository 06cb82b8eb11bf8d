"""TrainLab: the training techniques of chapter 6 of "Deep Learning from Scratch", on NumPy.

>>> import numpy as np, trainlab as tl
>>> model = tl.MLP(tl.ModelSpec(input_size=4, hidden_sizes=(8,), output_size=3), rng=0)
>>> opt = tl.make_optimizer("adam", model.params, lr=1e-2)
"""

from .gradcheck import gradient_check, numerical_gradient
from .inference import evaluate_many, infer_many
from .init import INITIALIZERS, resolve_init
from .layers import ACTIVATIONS
from .model import MLP, ModelSpec
from .optim import OPTIMIZERS, Optimizer, make_optimizer
from .params import ParamBuffer

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "ModelSpec",
    "ParamBuffer",
    "Optimizer",
    "make_optimizer",
    "OPTIMIZERS",
    "INITIALIZERS",
    "ACTIVATIONS",
    "resolve_init",
    "numerical_gradient",
    "gradient_check",
    "evaluate_many",
    "infer_many",
]
