"""A trained model at work: ``bundle`` (the self-contained ``best/`` folder and its
``Predictor``), ``thresholds`` (flag / pass / review, chosen on validation scores) and
``rejection`` (how far an input lies from every class). ``python -m ssvae.predict`` uses them.
Nothing is imported here, so ``ssvae.deploy.X`` loads only what X needs.
"""
