"""Metric definitions beyond accuracy (issue 26): moderation ranking metrics, calibration, the
selective classifier, and evaluation under class prior shift. scikit-learn's where it has them.

``final.moderation_metrics`` gathers them for a final run's test part (metrics.json, runs.csv).
"""
from ssvae.metrics.calibration import expected_calibration_error, reliability_bins
from ssvae.metrics.final import METRIC_KEYS, moderation_metrics
from ssvae.metrics.moderation import pr_auc, recall_at_precision, roc_auc
from ssvae.metrics.prior_shift import correct_prior, prevalence_weights, weighted_precision_recall
from ssvae.metrics.selective import accuracy_at_coverage, accuracy_coverage_curve

__all__ = ["METRIC_KEYS", "accuracy_at_coverage", "accuracy_coverage_curve", "correct_prior",
           "expected_calibration_error", "moderation_metrics", "pr_auc", "prevalence_weights",
           "recall_at_precision", "reliability_bins", "roc_auc", "weighted_precision_recall"]
