"""What to label next: rank unlabelled images by how much a label would help (issue 26).

``scores``: the acquisition scores (uncertainty of q(y|x), disagreement between models);
``layout``: the folder a user fills with labels, which the folder data set reads back.
The command line is ``python -m ssvae.label_next`` (``ssvae/label_next.py``).
"""
from ssvae.active.scores import RANK_BY, acquisition_scores, rank
from ssvae.active.layout import write_layout

__all__ = ["RANK_BY", "acquisition_scores", "rank", "write_layout"]
