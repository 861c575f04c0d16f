"""Does M1+M2's own generative model classify better than its inference net q(y|z1)?

For one trained M1+M2 run: validation and test accuracy of (a) q(y|z1), what ``classify``
returns; (b) the generative posterior p(y|z1) ∝ exp(L(z1, y)), L the ELBO averaged over S
samples of q(z2|z1,y) (p(y) uniform, so it is a softmax of the ELBOs); (c) their product,
renormalised.

    python results/scripts/m1m2_generative_probe.py runs/mnist_anchor/m1m2-n100-s0 --data-root ../shared/data
"""
import torch
import torch.nn.functional as F

from ssvae.data import make_split, to_unit

from run_loader import load_run

S = 16
config, data, model = load_run()
split = make_split(data, n_labels=config.n_labels, label_fraction=config.label_fraction,
                   split_seed=config.split_seed, val_size=config.val_size)
torch.manual_seed(0)


@torch.no_grad()
def log_posteriors(x_uint8):
    q, g = [], []
    for start in range(0, x_uint8.shape[0], 500):
        z1 = model.z1(to_unit(x_uint8[start:start + 500]))
        q.append(F.log_softmax(model.m2.encoder_y(z1), -1))
        elbo = torch.stack([model.m2.elbo_all_y(z1)[0] for _ in range(S)]).mean(0)   # [K, B]
        g.append(F.log_softmax(elbo.t(), -1))
    return torch.cat(q), torch.cat(g)


print(f"{config.model} ({config.network}), draw {config.split_seed}, S={S}")
for part, x, y in (("val", data.train_x[split.val_idx], data.train_y[split.val_idx]),
                   ("test", data.test_x, data.test_y)):
    log_q, log_g = log_posteriors(x)
    acc = {name: 100 * (lp.argmax(-1) == y).double().mean().item()
           for name, lp in (("q(y|z1)", log_q), ("p(y|z1)", log_g), ("product", log_q + log_g))}
    print(f"{part:5s} " + "  ".join(f"{k} {v:.2f} %" for k, v in acc.items()))
