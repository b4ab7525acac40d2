"""Metrics and the evaluation protocol."""
from amint_demo.evaluation.evaluate import ControlledUploads, EvaluationResult, OodCheck, evaluate
from amint_demo.evaluation.metrics import MembershipMetrics, membership_metrics, tpr_at_fpr

__all__ = ["ControlledUploads", "EvaluationResult", "OodCheck", "evaluate", "MembershipMetrics", "membership_metrics", "tpr_at_fpr"]
