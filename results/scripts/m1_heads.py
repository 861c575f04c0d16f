"""Test accuracy of M1's heads on one trained M1, with E[z|x] standardised on the labelled images
(the head before 1cc481a) and unscaled (the head now), plus the units' spread over test images.

    python results/scripts/m1_heads.py runs/mnist_anchor/m1-n100-s0 --data-root ../shared/data
"""
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ssvae.data import make_split, to_unit
from ssvae.models import build_model

from run_loader import load_run

config, data, model = load_run()
split = make_split(data, n_labels=config.n_labels, split_seed=config.split_seed)
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
