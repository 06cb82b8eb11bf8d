"""TrainLab: the training techniques of chapter 6 of "Deep Learning from Scratch", on NumPy.

Everything a notebook needs is here (``import trainlab as tl``)::

    >>> import trainlab as tl
    >>> data = tl.DataSpec(train_size=1000).load()                  # bundled MNIST, no download
    >>> model, history = tl.fit(tl.ModelSpec(hidden_sizes=(100, 100)), data,
    ...                         tl.TrainConfig(epochs=3, optimizer="sgd", optimizer_params={"lr": 0.1}))
    >>> history.status
    'completed'

``history`` shows itself as a table in Jupyter and draws its curves with ``history.plot()``;
``tl.run_experiment(name)`` runs one of the chapter's experiments into a run record
(``tl.RunRecord.open(folder)``), and the engine is one import away::

    >>> model = tl.MLP(tl.ModelSpec(input_size=4, hidden_sizes=(8,), output_size=3), rng=0)
    >>> opt = tl.make_optimizer("adam", model.params, lr=1e-2)
"""

from .curves import smooth_curve
from .data import Arrays, DataSpec, load_mnist
from .gradcheck import gradient_check, numerical_gradient
from .history import History
from .inference import evaluate_many, infer_many
from .init import INITIALIZERS, make_weight, resolve_init
from .layers import ACTIVATIONS
from .model import MLP, ModelSpec
from .optim import OPTIMIZERS, Optimizer, make_optimizer
from .params import ParamBuffer
from .plots import overlay_figure, run_figure
from .record import RunRecord, find_runs
from .threads import one_blas_thread
from .trainer import Data, Trainer, fit
from .train_config import TrainConfig

__version__ = "0.1.0"

__all__ = [
    # training a network
    "fit",
    "Trainer",
    "TrainConfig",
    "ModelSpec",
    "MLP",
    "History",
    # data
    "load_mnist",
    "DataSpec",
    "Arrays",
    "Data",
    # optimizers and initialisers
    "make_optimizer",
    "Optimizer",
    "OPTIMIZERS",
    "make_weight",
    "resolve_init",
    "INITIALIZERS",
    "ACTIVATIONS",
    # figures and curves
    "run_figure",
    "overlay_figure",
    "smooth_curve",
    # run records and the chapter's experiments
    "RunRecord",
    "find_runs",
    "run_experiment",
    "experiment_names",
    # the engine underneath
    "one_blas_thread",
    "ParamBuffer",
    "numerical_gradient",
    "gradient_check",
    "evaluate_many",
    "infer_many",
]


def run_experiment(name: str, out_dir=None, seeds: int | None = None, overrides=None, reduced: bool = False,
                   workers: int = 1, progress: bool = False, overwrite: bool = False, data_dir=None):
    """Run one chapter-6 experiment (``experiment_names()``; ``trainlab list experiments`` describes
    them) into ``out_dir`` (default ``runs/NAME``) and return its :class:`RunRecord`.

    ``overrides``: ``{key: value}`` of its declared keys (``--set`` on the command line); ``reduced``:
    the test-size configuration; ``overwrite``: replace a run already in ``out_dir``."""
    from pathlib import Path

    from .experiments.runner import DEFAULT_OUT
    from .experiments.runner import run_experiment as run

    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT / name
    run(name, seeds=seeds, out_dir=out, overrides=overrides, reduced=reduced, workers=workers,
        progress=progress, overwrite=overwrite, data_dir=data_dir)
    return RunRecord.open(out)


def experiment_names() -> list[str]:
    """The chapter's experiments in the book's order (``tl.run_experiment(name)`` runs one)."""
    from .experiments import names

    return names()
