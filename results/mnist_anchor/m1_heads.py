"""Test accuracy of M1's heads on one trained M1, with E[z|x] standardised on the labelled images
(the head before 1cc481a) and unscaled (the head now), plus the units' spread over test images.

    python results/mnist_anchor/m1_heads.py runs/mnist_anchor/m1-n100-s0 --data-root ../shared/data
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ssvae.config import TrainConfig
from ssvae.data import make_split, to_unit
from ssvae.models import build_model
from ssvae.runinfo import load_data_cached

parser = argparse.ArgumentParser()
parser.add_argument("run", type=Path, help="an m1 run folder (metrics.json, best/model.pt)")
parser.add_argument("--data-root", required=True)
args = parser.parse_args()
torch.set_num_threads(1)

saved = json.loads((args.run / "metrics.json").read_text())
config = TrainConfig.from_dict({**json.loads(saved["config_json"]), "data_root": args.data_root})
data = load_data_cached(config)
split = make_split(data, n_labels=config.n_labels, split_seed=config.split_seed)
model = build_model(config, data.image_shape, 10)
model.load_state_dict(torch.load(args.run / "best" / "model.pt", weights_only=False))
model.eval()
x_lab, y_lab = to_unit(data.train_x[split.labelled_idx]), data.train_y[split.labelled_idx].numpy()
f_lab = model.features(x_lab).double().numpy()
f_test = model.features(to_unit(data.test_x)).double().numpy()
std = f_test.std(0)
print(f"units with test std > 0.1: {(std > 0.1).sum()} of {std.size} "
      f"(active {std[std > 0.1].min():.3f}-{std.max():.3f}, others {std[std <= 0.1].min():.3f}-"
      f"{std[std <= 0.1].max():.3f})")
active = np.flatnonzero(std > 0.1)
u = active[np.argmin(f_lab.var(0)[active] / f_test.var(0)[active])]
print(f"active unit {u}: variance {f_lab.var(0)[u]:.3f} over the labelled images, "
      f"{f_test.var(0)[u]:.3f} over the test images")
for head in ("logreg", "svm", "mlp"):
    model_h = build_model(config.replace(model_options={"head": head}), data.image_shape, 10)
    accs = []
    for scaled in (True, False):
        clf = model_h._make_head(y_lab)
        clf = make_pipeline(StandardScaler(), clf) if scaled else clf
        clf.fit(f_lab, y_lab)
        accs.append((clf.predict(f_test) == data.test_y.numpy()).mean())
    print(f"{head:7s} test accuracy: standardised {100 * accs[0]:.1f} %, unscaled {100 * accs[1]:.1f} %")
