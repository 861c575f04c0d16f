"""White-box adversarial attacks and the rejection defence (Ghosh, Losalka & Black 2019).

- ``differentiable``: each model's classification path and rejection score with gradients;
- ``fgsm``, ``pgd``: L∞ attacks on any loss of the input;
- ``losses``: what the attacks maximise (naive untargeted / targeted, and rejection-aware);
- ``evaluate``: one (attack, eps) row of accuracy and rejection rates; ``ood``: noise and
  another data set's images; ``plots``: the study's figures. ``python -m ssvae.attack`` is the CLI.
"""
