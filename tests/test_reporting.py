"""Results tables: the headline picks each family's best aMINT pair and judges it against the targets."""
from __future__ import annotations

from amint_demo.reporting import NO_TAP, TARGETS, headline_rows, headline_table, tap_label


def _row(pair: str, family: str, method: str, auc: float, cost: float | None, ba: float = 0.8, tpr: float = 0.2) -> dict:
    return {"pair": pair, "family": family, "method": method, "tap": "middle", "balanced_accuracy": ba, "auc": auc,
            "tpr_at_1pct_fpr": tpr, "tpr_at_01pct_fpr": 0.0, "task_accuracy": 0.9 + (cost or 0.0),
            "cost_of_auditability": cost}


def test_headline_is_the_best_amint_pair_per_family_judged_on_every_target():
    rows = [_row("a-entry", "resnet", "amint", 0.90, -0.02), _row("a-middle", "resnet", "amint", 0.97, -0.005,
                                                                    ba=0.93, tpr=0.6),
            _row("a-loss", "resnet", "loss", 0.99, 0.0),  # not aMINT: never the headline
            _row("b-middle", "vit", "amint", 0.80, None)]
    resnet, vit = headline_rows(rows)
    assert resnet["pair"] == "a-middle" and abs(resnet["plain_task_accuracy"] - 0.9) < 1e-9
    assert resnet["targets_met"] == {key: True for key in TARGETS}
    assert vit["pair"] == "b-middle" and vit["plain_task_accuracy"] is None
    assert not any(vit["targets_met"].values())
    table = headline_table([resnet, vit])
    assert "| resnet | a-middle | 0.930 ✓ | 0.970 ✓ | 0.600 ✓ | 0.895 / 0.900 | -0.5 pt ✓ |" in table
    assert "| vit | b-middle | 0.800 ✗ | 0.800 ✗ | 0.200 ✗ | 0.900 / – | – ✗ |" in table


def test_the_loss_baseline_has_no_tap():
    assert tap_label({"method": "loss", "tap_depth": "middle", "taps": ["layer2"]}) == NO_TAP
    assert tap_label({"method": "amint", "tap_depth": "entry", "taps": ["layer1"]}) == "entry"
    assert tap_label({"method": "passive", "tap_depth": None, "taps": ["layer1", "layer2"]}) == "layer1+layer2"
