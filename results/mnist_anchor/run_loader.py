"""The trained model of a run folder, for the probe scripts beside this file (m1_heads.py,
m1_active_probe.py, confusion.py): parses ``RUN --data-root ROOT`` and returns the config, data
and the model with its best weights, in eval mode, on one thread."""
import argparse
import json
from pathlib import Path

import torch

from ssvae.checkpoint import safe_load

from ssvae.config import TrainConfig
from ssvae.models import build_model
from ssvae.training_data import run_inputs


def load_run(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path, help="a run folder (metrics.json, best/model.pt)")
    parser.add_argument("--data-root", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    saved = json.loads((args.run / "metrics.json").read_text())
    config = TrainConfig.from_dict({**json.loads(saved["config_json"]), "data_root": args.data_root})
    data, hierarchy, _ = run_inputs(config)
    model = build_model(config, data.image_shape, hierarchy.n_classes(config.label_mode))
    # safe loads only: an older run whose M1 head was pickled says how to convert it
    model.load_state_dict(safe_load(args.run / "best" / "model.pt"))
    model.eval()
    return config, data, model
