"""One markdown row per run folder (its metrics.json): how it ended, when it peaked, what it scored.

    python results/scripts/runs_table.py results/mnist_anchor/runs/h200-*

``stopped_by`` is ``patience`` (converged on validation), ``epoch_bound`` or ``time_limit``
(``--max-stage-s``); runs from before that key existed show ``-``. Accuracies in %. Options are
those the run set; for M2 runs made before its ``identity_version`` 2, the α scale they ran with,
"paper", is shown too, since the default is now "labelled".
"""
import json
import sys
from pathlib import Path


def model_version(m: dict) -> int:
    """The model's identity_version a run was made with: recorded since it changed M2's default;
    before that, a run whose run_id the current code reproduces from its config is current."""
    if "model_version" in m:
        return int(m["model_version"])
    from ssvae.config import TrainConfig
    from ssvae.models import MODELS

    current = MODELS.get(m["model"]).identity_version
    same = TrainConfig.from_dict(json.loads(m["config_json"])).run_id == m["run_id"]
    return current if same else current - 1


def row(folder: Path) -> str:
    m = json.loads((folder / "metrics.json").read_text())
    history = [h for h in m["history"] if h.get("val_subclass_acc") is not None]
    best = max(range(len(history)), key=lambda i: (history[i]["val_subclass_acc"], -i))
    config = json.loads(m["config_json"])
    options = config.get("model_options") or {}
    shown = {k: v for k, v in options.items() if k != "m1_checkpoint"}
    for field, default in (("network", "mlp"), ("classifier", "mlp"), ("min_steps_per_epoch", 50)):
        if config.get(field, default) != default:
            shown[field] = config[field]
    if m["model"] == "m2" and "alpha_scale" not in options and model_version(m) < 2:
        shown["alpha_scale"] = "paper (then the default)"     # M2's default before identity_version 2
    cells = [folder.name, m["model"], str(m["n_labels"]), str(m["split_seed"]),
             ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or "defaults",
             str(m["epochs"]), m.get("stopped_by") or "-", str(history[best]["epoch"]),
             f"{100 * m['val_subclass_acc']:.2f}", f"{100 * m['test_subclass_acc']:.2f}",
             f"{100 * m['test_binary_acc']:.2f}", f"{m['wall_s']:.0f}", m["device"]]
    return "| " + " | ".join(cells) + " |"


def main(folders: list[str]) -> None:
    print("| run | model | labels | draw | options | epochs | stopped by | best epoch (val) "
          "| val 10-class | test 10-class | test binary | train s | device |")
    print("|" + "---|" * 13)
    for folder in folders:
        print(row(Path(folder)))


if __name__ == "__main__":
    main(sys.argv[1:])
