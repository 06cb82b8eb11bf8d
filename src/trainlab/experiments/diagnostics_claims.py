"""The claims of the ``diagnostics`` experiment (:mod:`.diagnostics_mnist`; the thresholds and where
they come from are in its docstring). Each is checked on every seed: on the minimum or maximum over
seeds of the per-layer statistics, or on every seed's own ratio."""

from __future__ import annotations

from .base import Claim

__all__ = ["diagnostics_claims"]


def _fmt(values, spec: str = ".2f") -> str:
    return ", ".join("–" if x is None else format(x, spec) for x in values)


def diagnostics_claims(config: dict, summary: dict) -> list[Claim]:
    v = summary["variants"]
    n = summary["seeds"]
    claims: list[Claim] = []

    def at(label: str, stat: str, which: str, epoch: int) -> list:
        """One statistic of every layer at ``epoch`` (0 or -1): its mean, min or max over seeds."""
        return [row[epoch] for row in v[label]["stats"][stat][which]]

    if "sigmoid-std1" in v:
        x = config["saturated_min"]
        first, last = at("sigmoid-std1", "saturated", "min", 0), at("sigmoid-std1", "saturated", "min", -1)
        claims.append(Claim(
            "sigmoid, std 1: activations stay saturated in every layer, before and after training",
            min(first + last) >= x,
            f"fraction with z < 0.01 or z > 0.99 per layer, min over {n} seed(s): at initialisation {_fmt(first)}; "
            f"after training {_fmt(last)} (claim ≥ {x:.0%}; math ≈ 50–65 %)",
            {"initial": first, "final": last, "threshold": x}))
    if "sigmoid-std0.01" in v:
        x = config["collapsed_std_max"]
        first, last = at("sigmoid-std0.01", "act_std", "max", 0), at("sigmoid-std0.01", "act_std", "max", -1)
        claims.append(Claim(
            "sigmoid, std 0.01: activations stay collapsed near 0.5 in every layer, before and after training",
            max(first + last) < x,
            f"activation std per layer, max over seeds: at initialisation {_fmt(first, '.4f')}; after training "
            f"{_fmt(last, '.4f')} (claim < {x}; math ≈ 0.023 in layer 1, ≈ 0.0125 after)",
            {"initial": first, "final": last, "threshold": x}))
    spread = [lbl for lbl in ("sigmoid-xavier", "relu-he") if lbl in v]
    if spread:
        x = config["spread_ratio_max"]
        ratios = {lbl: max(at(lbl, "act_std", "max", 0)) / min(at(lbl, "act_std", "min", 0)) for lbl in spread}
        claims.append(Claim(
            f"{' and '.join(spread)} keep the spread at initialisation: every layer's std within ×{x:g} of the others",
            all(r <= x for r in ratios.values()),
            "; ".join(f"{lbl}: layer stds {_fmt(at(lbl, 'act_std', 'mean', 0), '.3f')} (mean), largest (any seed) / "
                      f"smallest (any seed) {r:.2f}" for lbl, r in ratios.items()) + f" (claim ≤ {x:g})",
            {"ratio": ratios, "threshold": x}))
    if "relu-he" in v:
        x = config["he_dead_max"]
        first, last = at("relu-he", "dead", "max", 0), at("relu-he", "dead", "max", -1)
        claims.append(Claim(
            f"He + ReLU: at most {x:.0%} dead units in any layer, before and after training",
            max(first + last) <= x,
            f"dead fraction per layer, max over seeds: at initialisation {_fmt(first)}; after training {_fmt(last)}",
            {"initial": first, "final": last, "threshold": x}))
    if "relu-std0.01" in v:
        x = config["small_dead_min"]
        first, last = at("relu-std0.01", "dead", "max", 0), at("relu-std0.01", "dead", "min", -1)
        claims.append(Claim(
            "ReLU, std 0.01: the last hidden layer dies in training",
            last[-1] >= x,
            f"dead fraction of the last hidden layer after training, min over seeds: {last[-1]:.2f} (claim ≥ {x:.0%}); "
            f"per layer {_fmt(last)}; at initialisation (max) {_fmt(first)}",
            {"initial": first, "final": last, "threshold": x}))
    last_w = summary["weights"][-2]
    vanish = [lbl for lbl in ("sigmoid-xavier", "sigmoid-std0.01") if lbl in v]
    if vanish:
        x = config["vanishing_max"]
        r = {lbl: v[lbl]["grad_ratio_first"] for lbl in vanish}
        claims.append(Claim(
            f"the deep sigmoid net's gradients vanish toward the input: ‖∂L/∂W1‖ / ‖∂L/∂{last_w}‖ < {x:g}",
            all(q is not None and q < x for qs in r.values() for q in qs),
            "; ".join(f"{lbl}: {_fmt(qs, '.2g')}" for lbl, qs in r.items())
            + f" (epoch 1, every seed; math ≈ 4e-3 for Xavier, ≈ 1e-6 for std 0.01)",
            {"ratio": r, "threshold": x}))
    flow = [lbl for lbl in ("relu-he", "sigmoid-xavier-bn") if lbl in v]
    if flow:
        x = config["flowing_min"]
        r = {lbl: v[lbl]["grad_ratio_first"] for lbl in flow}
        claims.append(Claim(
            f"… but not with {' or '.join(flow)}: ‖∂L/∂W1‖ / ‖∂L/∂{last_w}‖ ≥ {x:g}",
            all(q is not None and q >= x for qs in r.values() for q in qs),
            "; ".join(f"{lbl}: {_fmt(qs, '.2f')}" for lbl, qs in r.items())
            + " (epoch 1, every seed; math ≈ 2.8 for He, the input's larger norm)",
            {"ratio": r, "threshold": x}))
    stuck = [lbl for lbl in ("sigmoid-std0.01", "sigmoid-xavier") if lbl in v]
    learn = [lbl for lbl in ("relu-he", "sigmoid-xavier-bn") if lbl in v]
    if stuck and learn:
        lo, hi = config["learned_min"], config["chance_max"]
        acc = {lbl: v[lbl]["val_acc"] for lbl in stuck + learn}
        claims.append(Claim(
            f"the nets whose gradients vanish do not learn in {config['epochs']} epochs, those whose gradients flow do",
            all(acc[lbl]["max"] < hi for lbl in stuck) and all(acc[lbl]["min"] >= lo for lbl in learn),
            "final validation accuracy, min–max over seeds: "
            + ", ".join(f"{lbl} {a['min']:.3f}–{a['max']:.3f}" for lbl, a in acc.items())
            + f" (claim: {', '.join(stuck)} < {hi}; {', '.join(learn)} ≥ {lo})",
            {"val_acc": {lbl: a["values"] for lbl, a in acc.items()}}))
    return claims
