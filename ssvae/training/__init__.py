"""The training stage: one run from a ``TrainConfig`` to ``metrics.json`` and ``best/``.

``loop.fit`` is the run (``ssvae.fit``); beside it: ``inputs`` (data, split and batches of a
run), ``resume`` (exact restarts), ``selection`` (the model kept, on validation), ``plateau``
and ``averaging`` (learning-rate decays and weight averages), ``evaluation`` (the reported
metrics), ``grids`` (image grids), ``environment`` (device, versions, git) and ``progress``.
Nothing is imported here, so ``ssvae.training.X`` loads only what X needs.
"""
