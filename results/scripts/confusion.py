"""Test accuracy and the 10-class confusion matrix (rows: true digit, columns: predicted) of one
trained run's best model, and its largest confusions.

    python results/scripts/confusion.py runs/mnist_anchor/gmvae-n100-s2 --data-root ../shared/data
"""
import torch

from ssvae.training.evaluation import class_probabilities

from run_loader import load_run

config, data, model = load_run()
y = data.test_y
pred = class_probabilities(model, data.test_x, torch.device("cpu")).argmax(-1)
print(f"{config.model} ({config.network}), draw {config.split_seed}: "
      f"test accuracy {100 * (pred == y).double().mean():.2f} %")
confusion = torch.zeros(10, 10, dtype=torch.long)
confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
print("true\\pred " + " ".join(f"{k:5d}" for k in range(10)))
for k in range(10):
    print(f"{k:9d} " + " ".join(f"{int(v):5d}" for v in confusion[k]))
off = confusion.clone().fill_diagonal_(0)
top = off.flatten().topk(4)
print("largest confusions: " + ", ".join(
    f"{int(i) // 10}->{int(i) % 10}: {int(v)} of {int(confusion[int(i) // 10].sum())}"
    for v, i in zip(top.values, top.indices)))
