"""Results tables from pair manifests and evaluation results (the README's table, the app's summaries)."""
from __future__ import annotations

COLUMNS = ("pair", "method", "family", "tap", "balanced_accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr",
           "task_accuracy", "cost_of_auditability")


def results_rows(manifests: dict[str, dict], results: dict[str, dict]) -> list[dict]:
    """One row per pair; cost of auditability = task accuracy minus that of the plain (loss) pair
    with the same architecture, dataset and member set."""
    plain = {}
    for key, m in manifests.items():
        if m["method"] == "loss":
            plain[(m["backbone"]["arch"], m["dataset"]["fingerprint"], m["splits"]["member_sha256"])] = results[key]["task_accuracy"]
    rows = []
    for key, m in manifests.items():
        result = results[key]
        head = result["members_vs_test"]
        reference = plain.get((m["backbone"]["arch"], m["dataset"]["fingerprint"], m["splits"]["member_sha256"]))
        rows.append({"pair": key.rstrip("/").split("/")[-1], "method": m["method"], "family": m["backbone"]["family"],
                     "tap": "n/a" if m["method"] == "loss" else (m.get("tap_depth") or "+".join(m["taps"])),
                     "balanced_accuracy": head["balanced_accuracy"],
                     "auc": head["auc"], "tpr_at_1pct_fpr": head["tpr_at_1pct_fpr"],
                     "tpr_at_01pct_fpr": head["tpr_at_01pct_fpr"], "task_accuracy": result["task_accuracy"],
                     "cost_of_auditability": None if reference is None else result["task_accuracy"] - reference})
    return sorted(rows, key=lambda r: (r["family"], r["method"] != "amint", r["method"], r["tap"]))


def markdown_table(rows: list[dict]) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "–"
        return f"{value:+.3f}" if isinstance(value, float) and value < 0 else (f"{value:.3f}" if isinstance(value, float) else str(value))

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


DEPTH_ORDER = ("entry", "middle", "output")


def depth_summary(manifests: dict[str, dict]) -> list[dict]:
    """Stored metrics per family, method and tap depth (rows sorted by depth), for the depth explorer."""
    rows = []
    for key, m in manifests.items():
        metrics = m.get("metrics") or {}
        head = metrics.get("members_vs_test")
        if not head:
            continue
        rows.append({"pair": key, "family": m["backbone"]["family"], "method": m["method"],
                     "tap": m.get("tap_depth") or "+".join(m["taps"]), "balanced_accuracy": head["balanced_accuracy"],
                     "auc": head["auc"], "tpr_at_1pct_fpr": head["tpr_at_1pct_fpr"],
                     "task_accuracy": metrics.get("task_accuracy"), "roc_fpr": head["roc_fpr"], "roc_tpr": head["roc_tpr"]})
    rank = {name: i for i, name in enumerate(DEPTH_ORDER)}
    return sorted(rows, key=lambda r: (r["family"], r["method"], rank.get(r["tap"], len(rank)), r["tap"]))
