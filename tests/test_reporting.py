"""Results tables: the headline picks each family's best aMINT pair and judges it against the targets; every
table, list and dropdown names a pair's tap the same way."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from amint_demo import load_pair
from amint_demo.methods import TrainConfig, get_method, list_methods
from amint_demo.pairs import NO_TAP, list_pairs
from amint_demo.reporting import (TARGETS, depth_across_seeds, depth_summary, headline_rows, headline_table,
                                  results_rows)


def _row(pair: str, family: str, method: str, auc: float, cost: float | None, ba: float = 0.8, tpr: float = 0.2,
         tpr01: float = 0.0, ece: float | None = 0.1, ood: float | None = 0.05) -> dict:
    return {"pair": pair, "family": family, "method": method, "tap": "middle", "balanced_accuracy": ba, "auc": auc,
            "tpr_at_1pct_fpr": tpr, "tpr_at_01pct_fpr": tpr01, "ece": ece, "ood_member_rate": ood,
            "task_accuracy": 0.9 + (cost or 0.0), "cost_of_auditability": cost}


def test_headline_is_the_best_amint_pair_per_family_judged_on_every_target():
    rows = [_row("a-entry", "resnet", "amint", 0.90, -0.02), _row("a-middle", "resnet", "amint", 0.995, -0.005,
                                                                    ba=0.96, tpr=0.85, tpr01=0.4, ece=0.02, ood=0.0),
            _row("a-loss", "resnet", "loss", 0.99, 0.0),  # not aMINT: never the headline
            _row("b-middle", "vit", "amint", 0.80, None)]
    resnet, vit = headline_rows(rows)
    assert resnet["pair"] == "a-middle" and abs(resnet["plain_task_accuracy"] - 0.9) < 1e-9
    assert resnet["targets_met"] == {key: True for key in TARGETS}
    assert vit["pair"] == "b-middle" and vit["plain_task_accuracy"] is None
    assert not any(vit["targets_met"].values())
    table = headline_table([resnet, vit])
    assert ("| resnet | a-middle | 0.960 ✓ | 0.995 ✓ | 0.850 ✓ | 0.400 ✓ | 0.020 ✓ | 0.0% ✓ | 0.895 / 0.900 | "
            "-0.5 pt ✓ |") in table
    assert "| vit | b-middle | 0.800 ✗ | 0.800 ✗ | 0.200 ✗ | 0.000 ✗ | 0.100 ✗ | 5.0% ✗ | 0.900 / – | – ✗ |" in table


def test_a_target_is_met_at_its_bound_despite_round_off():
    """4,234 of 5,000 against 4,284 of 5,000 is a cost of exactly 1.0 point, which float subtraction makes
    -0.010000000000000009; one image fewer misses."""
    at_bound, beyond = (_row(name, "resnet", "amint", 0.9, cost) for name, cost in
                        (("a", 4234 / 5000 - 4284 / 5000), ("b", 4233 / 5000 - 4284 / 5000)))
    assert at_bound["cost_of_auditability"] < TARGETS["cost_of_auditability"][1]
    assert headline_rows([at_bound])[0]["targets_met"]["cost_of_auditability"]
    assert not headline_rows([beyond])[0]["targets_met"]["cost_of_auditability"]


@pytest.mark.parametrize("method", list_methods())
def test_a_pair_names_its_tap_the_same_way_in_every_list(tiny_pairs, method):
    """The README table, the explorer's depth rows and the pair dropdown all read Manifest.tap_label."""
    path = tiny_pairs[method]
    manifest = load_pair(path, device="cpu").manifest
    expected = "middle" if get_method(method).reads_taps else NO_TAP
    assert manifest.tap_label == expected
    (summary,) = [s for s in list_pairs(path.parent) if s.path == path]
    assert summary.row()["taps"] == expected
    assert [r["tap"] for r in depth_summary({str(path): manifest})] == [expected]
    assert [r["tap"] for r in results_rows({str(path): manifest}, {str(path): manifest.metrics})] == [expected]


def test_cost_of_auditability_is_measured_against_the_plain_reference(tiny_pairs):
    manifests = {str(p): load_pair(p, device="cpu").manifest for p in tiny_pairs.values()}
    rows = {r["method"]: r for r in results_rows(manifests, {k: m.metrics for k, m in manifests.items()})}
    plain = next(r for name, r in rows.items() if get_method(name).plain_reference)
    for name, row in rows.items():
        assert row["cost_of_auditability"] == pytest.approx(row["task_accuracy"] - plain["task_accuracy"])
    assert [r["method"] for r in results_rows(manifests, {k: m.metrics for k, m in manifests.items()})] == \
        list_methods()  # registry order within a family


def _seeded(family: str, tap: str, seed: int, auc: float, method: str = "amint", epochs: int = 20) -> SimpleNamespace:
    """The parts of a Manifest that `depth_across_seeds` reads."""
    return SimpleNamespace(family=family, tap_label=tap, method_info=get_method(method),
                           train_config=TrainConfig(method=method, taps=tap, seed=seed, epochs=epochs),
                           metrics=SimpleNamespace(members_vs_test=SimpleNamespace(auc=auc)))


def test_depth_counts_only_when_taps_differ_by_more_than_the_seed_spread():
    manifests = [_seeded("mobilenet", "entry", 0, 0.93), _seeded("mobilenet", "entry", 1, 0.95),
                 _seeded("mobilenet", "output", 0, 0.99), _seeded("mobilenet", "output", 1, 0.98),
                 _seeded("mobilenet", "middle", 0, 0.999),  # one seed only: not compared
                 _seeded("mobilenet", "n/a", 0, 0.2, method="loss"), _seeded("mobilenet", "n/a", 1, 0.9, method="loss"),
                 _seeded("vit", "entry", 0, 0.70), _seeded("vit", "entry", 1, 0.62),
                 _seeded("vit", "output", 0, 0.66), _seeded("vit", "output", 1, 0.64),
                 _seeded("densenet", "entry", 0, 0.7)]  # a family with one seed has no row
    mobilenet, vit = depth_across_seeds(manifests)
    assert (mobilenet["best"], mobilenet["worst"]) == ("output", "entry")
    assert list(mobilenet["taps"]) == ["entry", "output"]
    assert mobilenet["difference"] == pytest.approx(0.045) and mobilenet["spread"] == pytest.approx(0.02)
    assert mobilenet["depth_matters"]
    assert vit["difference"] == pytest.approx(0.01) and vit["spread"] == pytest.approx(0.08)
    assert not vit["depth_matters"]


def test_depth_refuses_to_read_a_spread_from_pairs_of_different_recipes():
    manifests = [_seeded("vit", "entry", 0, 0.98, epochs=60), _seeded("vit", "entry", 1, 0.79, epochs=30),
                 _seeded("vit", "output", 0, 0.98, epochs=60), _seeded("vit", "output", 1, 0.77, epochs=60)]
    with pytest.raises(ValueError, match="vit pairs differ in epochs"):
        depth_across_seeds(manifests)


def _depth_row(family: str, method: str, tap: str, auc: float) -> dict:
    return {"pair": f"{family}-{method}-{tap}", "family": family, "method": method, "tap": tap,
            "balanced_accuracy": auc - 0.05, "auc": auc, "tpr_at_1pct_fpr": auc / 10}


def test_the_depth_figure_draws_other_seeds_of_its_family_as_hollow_markers_at_their_values():
    from amint_demo.ui.figures import depth_figure

    rows = [_depth_row("vit", "amint", tap, auc) for tap, auc in (("entry", 0.75), ("middle", 0.69), ("output", 0.70))]
    reseeded = [_depth_row("vit", "amint", "entry", 0.79), _depth_row("vit", "amint", "middle", 0.79),
                _depth_row("resnet", "amint", "entry", 0.5)]  # another family's seed: not drawn
    seeds = [t for t in depth_figure(rows, "vit", reseeded).data if t.name == "amint, other seed"]
    assert len(seeds) == 3  # one per metric panel
    auc_panel = [t for t in seeds if t.xaxis == "x2"][0]
    assert list(auc_panel.x) == ["entry", "middle"] and list(auc_panel.y) == [0.79, 0.79]
    assert auc_panel.marker.symbol == "circle-open"
    assert not [t for t in depth_figure(rows, "vit").data if t.name == "amint, other seed"]
