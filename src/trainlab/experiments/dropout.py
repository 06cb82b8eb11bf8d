"""Dropout against overfitting (book §6.4.3, Fig 6-23; script ``overfit_dropout.py``).

The same 300-sample, 784-[100]*6-10 net and SGD lr 0.01 as the overfitting experiment, 301 epochs,
no weight decay. Dropout ratios: 0.2 (the book's code) and 0.15 (the book's figure caption), each
with the book's *classic* dropout (no scaling in training, ×(1−p) at test) and with *inverted*
dropout (×1/(1−p) in training, as ``torch.nn.Dropout``), against the same net without dropout.
Every variant of one seed starts from the same weights and batch order (dropout masks have their
own random stream).

Evaluation granularity (for speed): per-epoch test curve on the first ``curve_test_samples`` test
images, final test accuracy on all 10,000.
"""

from __future__ import annotations

from .base import Claim, Experiment
from .overfitting import accuracy_panel, book_table, summarize_variant, train_small_net

__all__ = ["EXPERIMENT", "Dropout"]


class Dropout(Experiment):
    name = "dropout"
    title = "Dropout"
    book_section = "§6.4.3, Fig 6-23"
    config = {
        "train_size": 300,              # book
        "hidden_sizes": [100] * 6,      # book
        "lr": 0.01,                     # SGD (book)
        "batch_size": 100,              # book
        "epochs": 301,                  # book (Trainer epochs=301)
        "sampling": "replacement",      # the book's Trainer draws batches with replacement
        "ratios": [0.2, 0.15],          # 0.2 in the book's code, 0.15 in its figure caption
        "conventions": ["classic", "inverted"],  # the book's (non-inverted) dropout and torch's
        "curve_test_samples": 2000,     # per-epoch test curve on the first 2000 test images (speed)
        "dtype": "float32",
    }
    reduced = {"epochs": 40, "curve_test_samples": 300, "ratios": [0.2]}  # tests: 3 nets × 120 updates
    #: one seed trains 5 nets × 301 epochs (~20 s); 2 seeds fit the run-all budget
    default_seeds = 2
    book = {
        "source": "JP-notebook run of overfit_dropout.py (ratio 0.2, classic dropout, one unseeded run)",
        "ratio_0.2_classic": {"epoch 1": [0.103, 0.105], "epoch 101": [0.47, 0.39],
                              "epoch 201": [0.54, 0.46], "epoch 301": [0.67, 0.548]},
        "final_test_acc": 0.5478,
        "format": "[train acc, test acc]",
        "book_text": "with dropout the train–test gap shrinks and train accuracy does not reach 100% "
                     "(caption: dropout_ratio = 0.15; code: 0.2)",
    }

    @staticmethod
    def key(ratio: float, convention: str) -> str:
        return "none" if ratio == 0 else f"p={float(ratio):g} {convention}"

    def run_seed(self, config: dict, seed: int) -> dict:
        out = {"seed": seed, "variants": {}}
        _, out["variants"]["none"] = train_small_net(config, seed)
        for ratio in config["ratios"]:
            for conv in config["conventions"]:
                _, record = train_small_net(config, seed, dropout=ratio, convention=conv)
                out["variants"][self.key(ratio, conv)] = record
        return out

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        variants = {k: summarize_variant([r["variants"][k] for r in runs]) for k in runs[0]["variants"]}
        summary = {"seeds": [r["seed"] for r in runs], "variants": variants}
        key = self.key(0.2, "classic")
        if key in variants:  # ours at the epochs the book printed (its epoch k = our record k−1)
            v = variants[key]
            summary["ours_ratio_0.2_classic"] = {
                f"epoch {e}": [v["train_acc"]["mean"][e - 1], v["test_acc"]["mean"][e - 1] if "test_acc" in v else None]
                for e in (1, 101, 201, 301) if e - 1 < len(v["epoch"])}
            summary["tables"] = [book_table(
                f"train / test accuracy at the epochs the book's run printed (its epoch k = our record k−1 "
                f"because it records after the first update; ours: mean of {len(runs)} seed(s), test on the "
                f"first {v['test_curve_samples']} test images, final row on all 10,000)",
                self.book["ratio_0.2_classic"], "book p=0.2 classic", variants,
                [(key, "ours p=0.2 classic"), (self.key(0.2, "inverted"), "ours p=0.2 inverted"),
                 ("none", "ours no dropout")],
                {e: e - 1 for e in (1, 101, 201, 301)})]
        return summary

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        v = summary["variants"]
        base = v["none"]
        out = []
        for key, var in v.items():
            if key == "none":
                continue
            smaller = sum(g < b for g, b in zip(var["gap"]["values"], base["gap"]["values"]))
            out.append(Claim(
                f"dropout {key} shrinks the gap",
                var["gap"]["mean"] < base["gap"]["mean"],
                f"final train − test gap {var['gap']['mean']:.3f} (train {var['final_train_acc']['mean']:.3f}, "
                f"test {var['final_test_acc']['mean']:.3f}) vs no dropout {base['gap']['mean']:.3f} "
                f"(train {base['final_train_acc']['mean']:.3f}, test {base['final_test_acc']['mean']:.3f}); "
                f"smaller in {smaller}/{len(runs)} seeds",
                {"gap": var["gap"]["mean"], "gap_without": base["gap"]["mean"],
                 "final_train_acc": var["final_train_acc"]["mean"], "final_test_acc": var["final_test_acc"]["mean"]}))
        key = self.key(0.2, "classic")
        if key in v:
            top = v[key]["max_train_acc"]
            out.append(Claim(
                f"with dropout {key} (the book's code) train accuracy does not reach 1.0",
                top < 1.0,
                f"highest train accuracy of any epoch and seed: {top:.3f} "
                f"(book's run: 0.67 train / 0.548 test at epoch 301)",
                {"max_train_acc": top}))
        return out

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        variants = summary["variants"]
        n = len(variants)
        cols = min(n, 3)
        rows = -(-n // cols)
        fig = Figure(figsize=(4.6 * cols, 3.8 * rows), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, (key, v) in zip(axes, variants.items()):
            title = "no dropout" if key == "none" else f"dropout {key}"
            if key == self.key(0.2, "classic"):
                title += " (book's code)"
            accuracy_panel(ax, v, title, len(runs))
        for ax in axes[n:]:
            ax.set_visible(False)
        return {"accuracy": fig}


EXPERIMENT = Dropout()
