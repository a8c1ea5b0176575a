"""Seconds per epoch and test accuracy for each recurrent cell on the real data.

    python -m bench.train [--epochs 10] [--cells lstm gru simplernn]

Each cell trains with the default preset (only the cell changes) through the same code
as ``python -m trainer`` and is evaluated through onnxruntime after export.
"""

from __future__ import annotations

import argparse
import copy
import tempfile

from bench.common import DATA, table
from trainer.data import load_files
from trainer.cells import CELLS
from trainer.config import PRESETS
from trainer.train import train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--epochs", type=int)
    p.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    args = p.parse_args()
    corpus = load_files(args.data)
    rows = [("cell", "epochs run", "s/epoch", "val accuracy", "test accuracy", "test ROC AUC", "ONNX recurrent op")]
    for cell in args.cells:
        cfg = copy.deepcopy(PRESETS["default"])
        cfg.model.cell = cell
        if args.epochs:
            cfg.epochs = args.epochs
        with tempfile.TemporaryDirectory() as out:
            meta = train(corpus, cfg, f"{out}/model", log=lambda *_: None)
        t, m = meta["training"], meta["metrics"]
        caps = meta["capabilities"]
        op = f"fused {caps['onnx_op']}" if caps["fused"] else caps["onnx_op"]
        rows.append((cell, t["epochs_run"], f"{t['fit_seconds'] / t['epochs_run']:.1f}",
                     f"{m['validation']['accuracy']:.4f}", f"{m['test']['accuracy']:.4f}",
                     f"{m['test']['roc_auc']:.4f}", op))
        print(table(rows), flush=True)


if __name__ == "__main__":
    main()
