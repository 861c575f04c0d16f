"""Logistic-regression probe on one trained M1: test accuracy from the 100 labelled images of each
label draw, on all 50 units of E[z|x] and on the active units only (std over 5,000 training
images > 0.1), both standardised by their spread over those 5,000 images (as M1+M2 scales z1).

    python results/scripts/m1_active_probe.py runs/mnist_anchor/m1-n100-s0 --data-root ../shared/data
"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from ssvae.data import make_split, to_unit

from run_loader import load_run

config, data, model = load_run()
f_train = model.features(to_unit(data.train_x[:5000])).double().numpy()
f_test = model.features(to_unit(data.test_x)).double().numpy()
active = np.flatnonzero(f_train.std(0) > 0.1)
scaler = StandardScaler().fit(f_train)
print(f"active units: {active.size} of {f_train.shape[1]}")
for draw in (0, 1, 2):
    split = make_split(data, n_labels=100, split_seed=draw)
    x_lab, y_lab = to_unit(data.train_x[split.labelled_idx]), data.train_y[split.labelled_idx].numpy()
    f_lab = scaler.transform(model.features(x_lab).double().numpy())
    accs = []
    for cols in (slice(None), active):
        head = LogisticRegression(max_iter=2000, C=1.0).fit(f_lab[:, cols], y_lab)
        accs.append((head.predict(scaler.transform(f_test)[:, cols]) == data.test_y.numpy()).mean())
    print(f"draw {draw}: all units {100 * accs[0]:.1f} %, active units only {100 * accs[1]:.1f} %")
