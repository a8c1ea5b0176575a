"""Command line: ``python -m trainer --data PATH --out exported/`` (see ``--help``)."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from sentilens.cli import command, parser
from sentilens.errors import InputError
from sentilens.sources import ACCEPTED
from sentilens.staging import check_folder
from trainer.cells import CELLS

EXAMPLES = ("sentilens train --data ../shared/data/aclImdb_v1_labeled.tar.gz --out exported",
            "sentilens train --preset tutorial --data ../shared/data/aclImdb_v1_labeled.tar.gz --out tutorial",
            "sentilens learn exported --extra labels.csv --data ../shared/data/aclImdb_v1_labeled.tar.gz --out tuned")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser("python -m trainer", main.__doc__,
               EXAMPLES)
    p.add_argument("--data", help=f"training data: {ACCEPTED}. Omitted: download keras.datasets.imdb (online only)")
    p.add_argument("--test", help="test set for a CSV/JSONL --data (default: a seeded 20%% holdout)")
    p.add_argument("--extra", action="append", default=[], metavar="PATH",
                   help="extra labelled CSV/JSONL rows added to training, e.g. exported annotations (repeatable)")
    p.add_argument("--out", default="exported", help="model directory to write (default: exported)")
    p.add_argument("--init", metavar="DIR", help="fine-tune this exported model on --extra (its vocabulary and maxlen "
                                                 "are kept; --data gives the replay sample and the test split)")
    p.add_argument("--weight", type=float, help="with --init --refit-tables: how many training reviews each "
                                                 "annotation counts as when the evidence tables are refitted "
                                                 "(default: chosen on a held-out third of the annotations)")
    p.add_argument("--refit-tables", action="store_true",
                   help="with --init: refit the evidence tables on the training reviews plus the annotations (needs "
                        "the train extra; default: the app's learner, numpy only, seconds)")
    p.add_argument("--accept-audit", action="store_true", help="with --init: learn from annotations even when the "
                                                               "audit flags trigger words or flipped training labels")
    p.add_argument("--preset", choices=["default", "tutorial"], default="default",
                   help="default: the gated word/pair evidence LSTM (see README); tutorial: the reference configuration")
    p.add_argument("--cell", choices=list(CELLS), help="recurrent cell (" + ", ".join(
        f"{c.name}: {'fused ' + c.onnx_op if c.must_fuse else 'exports as a Loop'}" for c in CELLS.values()) + ")")
    p.add_argument("--vocab-size", type=int, help="embedding rows: 4 reserved ids + most frequent words")
    p.add_argument("--embed-dim", type=int)
    p.add_argument("--units", type=int, help="recurrent units")
    p.add_argument("--maxlen", type=int, help="ids per review; longer reviews keep their last words")
    p.add_argument("--dropout", type=float, help="dropout of embedding channels before the recurrent layer")
    p.add_argument("--word-dropout", type=float, help="dropout of whole words during training")
    p.add_argument("--evidence-buckets", type=int, help="pair buckets of the gated evidence readout; 0: the plain "
                                                        "Dense readout of the tutorial")
    p.add_argument("--running-weight", type=float, help="weight of the loss on the running score after every word "
                                                        "(0: only the last word's score is learned)")
    p.add_argument("--validation-split", type=float, help="share of the training reviews held out for early stopping")
    p.add_argument("--epochs", type=int)
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs; 0 turns it off")
    p.add_argument("--seed", type=int)
    return p.parse_args(argv)


def config_from(args: argparse.Namespace):
    from trainer.config import PRESETS

    cfg = copy.deepcopy(PRESETS[args.preset])
    for name in ("cell", "vocab_size", "embed_dim", "units", "maxlen", "dropout", "word_dropout", "evidence_buckets",
                 "running_weight"):
        if getattr(args, name) is not None:
            setattr(cfg.model, name, getattr(args, name))
    for name in ("epochs", "seed", "validation_split"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.patience is not None:
        cfg.patience = args.patience or None
    return cfg.validate()


@command("python -m trainer", failure_note="--out stays as it was")
def main(argv: list[str] | None = None) -> int:
    """Train the model on IMDB reviews and export it to ONNX (--preset tutorial: the reference)."""
    args = parse_args(argv)
    run(args)
    return 0


@command("python -m trainer --init", failure_note="--out stays as it was")
def learn(argv: list[str] | None = None) -> int:
    """Learn from annotations: a new, checked version of an export, with no TensorFlow (trainer --init)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args = ["--init", *args]  # sentilens learn PARENT --extra FILE ... --out DIR
    return main.__wrapped__(args)


def run(args: argparse.Namespace) -> None:
    from trainer.data import load_extra, load_files, load_keras_imdb, merge_extra

    cfg = config_from(args)
    if args.init and not args.extra:
        raise InputError("--init fine-tunes on annotations: pass them with --extra")
    # before minutes of work: --out is new, empty or an earlier export, and neither is, lies in nor holds an input
    check_folder(Path(args.out), inputs=[args.data, args.test, *args.extra, args.init])
    corpus = load_files(args.data, args.test, cfg.seed) if args.data else load_keras_imdb()
    extra = load_extra(args.extra)
    if args.init:
        from trainer.finetune import EPOCHS, fine_tune

        fine_tune(args.init, corpus, extra, args.extra, args.out, epochs=args.epochs or EPOCHS, seed=cfg.seed,
                  weight=args.weight, accept_audit=args.accept_audit, refit_tables=args.refit_tables)
        return
    if extra is not None:
        corpus = merge_extra(corpus, extra)
        corpus.source["extra"] = [str(p) for p in args.extra]
    from trainer.train import train

    train(corpus, cfg, args.out)


if __name__ == "__main__":
    sys.exit(main())
