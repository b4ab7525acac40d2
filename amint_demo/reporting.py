"""Results tables from pair manifests and evaluation results (the README's table, the app's summaries)."""
from __future__ import annotations

import math

from amint_demo.evaluation import EvaluationResult
from amint_demo.methods import get_method, method_rank
from amint_demo.pairs import NO_TAP, Manifest

COLUMNS = ("pair", "method", "family", "tap", "balanced_accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr",
           "ece", "ood_member_rate", "e_seen_max", "task_accuracy", "cost_of_auditability")


def _same_model_key(m: Manifest) -> tuple[str, str, str]:
    return m.backbone.arch, m.dataset.fingerprint, m.splits.member_sha256


def _order(row: dict) -> tuple:
    return row["family"], method_rank(row["method"]), row["tap"]


def results_rows(manifests: dict[str, Manifest], results: dict[str, EvaluationResult]) -> list[dict]:
    """One row per pair; cost of auditability = task accuracy minus that of the plain-reference pair (the
    loss threshold's plain model) with the same architecture, dataset and member set."""
    plain = {_same_model_key(m): results[key].task_accuracy for key, m in manifests.items()
             if m.method_info.plain_reference}
    rows = []
    for key, m in manifests.items():
        result = results[key]
        head = result.members_vs_test
        reference = plain.get(_same_model_key(m))
        rows.append({"pair": key.rstrip("/").split("/")[-1], "method": m.method, "family": m.family,
                     "tap": m.tap_label, "balanced_accuracy": head.balanced_accuracy, "auc": head.auc,
                     "tpr_at_1pct_fpr": head.tpr_at_1pct_fpr, "tpr_at_01pct_fpr": head.tpr_at_01pct_fpr,
                     "ece": head.ece, "ood_member_rate": None if result.ood_check is None else result.ood_check.member_rate,
                     "e_seen_max": None if m.external_use is None else m.external_use.max_per_image,
                     "task_accuracy": result.task_accuracy,
                     "cost_of_auditability": None if reference is None else result.task_accuracy - reference})
    return sorted(rows, key=_order)


def markdown_table(rows: list[dict]) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "–"
        return f"{value:+.3f}" if isinstance(value, float) and value < 0 else (f"{value:.3f}" if isinstance(value, float) else str(value))

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


DEPTH_ORDER = ("entry", "middle", "output")


def depth_summary(manifests: dict[str, Manifest]) -> list[dict]:
    """Stored metrics per family, method and tap depth (rows sorted by depth), for the depth explorer; a method
    that reads no tap has the tap NO_TAP."""
    rows = []
    for key, m in manifests.items():
        if m.metrics is None:
            continue
        head = m.metrics.members_vs_test
        rows.append({"pair": key, "family": m.family, "method": m.method, "tap": m.tap_label,
                     "balanced_accuracy": head.balanced_accuracy, "auc": head.auc,
                     "tpr_at_1pct_fpr": head.tpr_at_1pct_fpr, "task_accuracy": m.metrics.task_accuracy,
                     "roc_fpr": list(head.roc_fpr), "roc_tpr": list(head.roc_tpr)})
    rank = {name: i for i, name in enumerate(DEPTH_ORDER)}
    return sorted(rows, key=lambda r: (r["family"], method_rank(r["method"]), rank.get(r["tap"], len(rank)), r["tap"]))


# The zoo's targets for the best aMINT pair of each family (members vs T, equal numbers); key -> (at least, bound).
TARGETS = {"balanced_accuracy": (True, 0.95), "auc": (True, 0.99), "tpr_at_1pct_fpr": (True, 0.80),
           "tpr_at_01pct_fpr": (True, 0.30), "ece": (False, 0.03), "ood_member_rate": (False, 0.01),
           "cost_of_auditability": (True, -0.010)}


def _meets(value: float | None, at_least: bool, bound: float) -> bool:
    """Bounds are inclusive, also where float subtraction lands a value at its bound a few bits off it (a cost of
    exactly 1.0 point meets "within 1.0 point")."""
    return value is not None and (math.isclose(value, bound) or (value > bound if at_least else value < bound))


def headline_rows(rows: list[dict]) -> list[dict]:
    """Per family, its best pair of the joint method (aMINT) by AUC, from `results_rows`, with the plain model's
    task accuracy and which targets it meets."""
    best = {}
    for row in rows:
        joint = get_method(row["method"]).joint
        if joint and (row["family"] not in best or row["auc"] > best[row["family"]]["auc"]):
            best[row["family"]] = row
    headlines = []
    for family, row in sorted(best.items()):
        cost = row["cost_of_auditability"]
        met = {key: _meets(row[key], at_least, bound) for key, (at_least, bound) in TARGETS.items()}
        headlines.append(row | {"plain_task_accuracy": None if cost is None else row["task_accuracy"] - cost,
                                "targets_met": met})
    return headlines


def headline_table(headlines: list[dict]) -> str:
    """Markdown: one line per family, each metric with ✓/✗ against its target."""
    def cell(row: dict, key: str, text: str) -> str:
        return f"{text} {'✓' if row['targets_met'][key] else '✗'}"

    def number(value: float | None, spec: str) -> str:
        return "–" if value is None else format(value, spec)

    lines = ["| family | best aMINT pair | balanced acc. (≥ 0.95) | AUC (≥ 0.99) | TPR@1%FPR (≥ 0.80) | "
             "TPR@0.1%FPR (≥ 0.30) | ECE (≤ 0.03) | OOD called members (≤ 1%) | task acc. / plain | "
             "cost (≥ −1.0 pt) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in headlines:
        plain = number(r["plain_task_accuracy"], ".3f")
        cost = "–" if r["cost_of_auditability"] is None else f"{100 * r['cost_of_auditability']:+.1f} pt"
        metrics = [cell(r, key, number(r[key], ".3f")) for key in
                   ("balanced_accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr", "ece")]
        ood = cell(r, "ood_member_rate", "–" if r["ood_member_rate"] is None else f"{r['ood_member_rate']:.1%}")
        lines.append(f"| {r['family']} | {r['pair']} | {' | '.join(metrics)} | {ood} | "
                     f"{r['task_accuracy']:.3f} / {plain} | {cell(r, 'cost_of_auditability', cost)} |")
    return "\n".join(lines)


def recipe_rows(manifests: dict[str, Manifest]) -> list[dict]:
    """How each family's pairs were trained (architecture, timm arguments, epochs, split), one row per family,
    read from its pairs that trained their own audited model (the joint method's and the plain reference's)."""
    recipes = {}
    for m in manifests.values():
        if not (m.method_info.joint or m.method_info.plain_reference):
            continue
        config = m.train_config
        recipes.setdefault(m.family, {
            "family": m.family, "arch": config.arch, "timm_kwargs": config.timm_kwargs,
            "parameters": m.backbone.parameters, "epochs": config.epochs, "lr": config.lr,
            "batch_size": config.batch_size, "mint_weight": config.mint_weight,
            "split": m.splits.sizes.model_dump(), "split_seed": m.splits.seed, "device": m.runtime.get("device")})
    return [recipes[f] for f in sorted(recipes)]


def depth_across_seeds(manifests: list[Manifest], metric: str = "auc") -> list[dict]:
    """Whether tap depth matters, per family, for the joint method's pairs trained with several seeds.

    `manifests`: pairs of any seeds (same split). Per family, the taps with at least two seeds; the best and worst
    tap by mean `metric`; their difference against the seed-to-seed spread (max - min over seeds) of either tap.
    Depth matters only when the difference exceeds both spreads; otherwise it is reported as none.
    Raises ValueError when a family's pairs differ in recipe beyond the seed and the tap (e.g. a stale seed
    manifest with other epochs), since such a spread would not be the seeds'."""
    values: dict[str, dict[str, dict[int, float]]] = {}
    recipes: dict[str, dict] = {}
    for m in manifests:
        if m.metrics is None or not m.method_info.joint:
            continue
        recipe = {k: v for k, v in m.train_config.to_dict().items() if k not in ("seed", "taps")}
        first = recipes.setdefault(m.family, recipe)
        if recipe != first:
            differing = sorted(k for k in first if first[k] != recipe.get(k))
            raise ValueError(f"{m.family} pairs differ in {', '.join(differing)} beyond seed and tap: "
                             "their spread would not be the seeds'")
        value = getattr(m.metrics.members_vs_test, metric)
        values.setdefault(m.family, {}).setdefault(m.tap_label, {})[m.train_config.seed] = value
    rows = []
    for family, taps in sorted(values.items()):
        seeded = {tap: seeds for tap, seeds in taps.items() if len(seeds) >= 2}
        if len(seeded) < 2:
            continue
        mean = {tap: sum(s.values()) / len(s) for tap, s in seeded.items()}
        spread = {tap: max(s.values()) - min(s.values()) for tap, s in seeded.items()}
        best, worst = max(mean, key=mean.get), min(mean, key=mean.get)
        difference = mean[best] - mean[worst]
        rows.append({"family": family, "metric": metric, "taps": {tap: dict(sorted(seeded[tap].items()))
                                                                 for tap in sorted(seeded, key=_depth_rank)},
                     "best": best, "worst": worst, "difference": difference,
                     "spread": max(spread[best], spread[worst]),
                     "depth_matters": difference > max(spread[best], spread[worst])})
    return rows


def _depth_rank(tap: str) -> int:
    return DEPTH_ORDER.index(tap) if tap in DEPTH_ORDER else len(DEPTH_ORDER)
