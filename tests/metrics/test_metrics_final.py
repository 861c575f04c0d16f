"""The moderation metrics of a final run, on a constructed three-sub-class example."""
import pytest
import torch

from ssvae.data.hierarchy import LabelHierarchy
from ssvae.metrics.final import METRIC_KEYS, moderation_metrics

H = LabelHierarchy("h", ["a", "b", "c"], ["pos", "neg"], [0, 0, 1])


def test_keys_and_values_by_hand():
    p_pos = torch.tensor([0.9, 0.4, 0.8, 0.2, 0.7, 0.1])
    p_super = torch.stack([p_pos, 1 - p_pos], 1)
    y_sub = torch.tensor([0, 0, 1, 2, 2, 2])       # truth: pos pos pos neg neg neg
    rejection = torch.tensor([0.0, 0.5, 0.1, 0.2, 0.9, 0.3])
    m = moderation_metrics(p_super, y_sub, rejection, H)
    assert set(m) == {f"test_{k}" for k in METRIC_KEYS}
    # predicted super-class right: T F T T F T
    assert m["test_subclass_recall"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 2 / 3})
    # most trusted first: 0 (T), 2 (T), 3 (T), 5 (T), 1 (F), 4 (F); 80 %: 5 kept -> 4/5
    assert m["test_acc_at_cov80"] == pytest.approx(4 / 5)
    assert m["test_acc_at_cov95"] == pytest.approx(4 / 6)
    # ranking 0.9+ 0.8+ 0.7- 0.4+ 0.2- 0.1-: AP = 1/3·1 + 1/3·1 + 1/3·3/4; ROC: 8 of 9 pairs
    assert m["test_pr_auc"] == pytest.approx(2 / 3 + 1 / 4)
    assert m["test_roc_auc"] == pytest.approx(8 / 9)
    assert m["test_recall_at_p90"] == pytest.approx(2 / 3)
    assert 0 <= m["test_ece"] <= 1


def test_a_sub_class_without_test_images_has_no_recall():
    p_super = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    m = moderation_metrics(p_super, torch.tensor([0, 2]), torch.zeros(2), H)
    assert m["test_subclass_recall"]["b"] is None
