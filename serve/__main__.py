"""``python -m serve``: the app on the committed model (see ``--help``)."""

from __future__ import annotations

import argparse
import os
import sys

from serve.model import DEFAULT_DIR, ModelError, SentimentModel


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m serve", description="Run the sentilens app.")
    p.add_argument("--model", default=str(DEFAULT_DIR), help="model directory (default: the committed exported/)")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    p.add_argument("--annotate", metavar="PATH", help="reviews to annotate: CSV, JSONL, TXT or an aclImdb folder/.tar.gz")
    p.add_argument("--db", default=os.environ.get("SENTILENS_DB", "annotations.sqlite3"),
                   help="SQLite file for annotations (default: annotations.sqlite3)")
    p.add_argument("--auth", default=os.environ.get("SENTILENS_AUTH"),
                   help="require login: 'user:password[,user:password...]' (or SENTILENS_AUTH)")
    p.add_argument("--concurrency", type=int, default=8, help="requests scored at once (default 8)")
    return p.parse_args(argv)


def parse_auth(spec: str | None) -> list[tuple[str, str]] | None:
    if not spec:
        return None
    pairs = []
    for item in spec.split(","):
        user, sep, password = item.partition(":")
        if not sep or not user or not password:
            raise ValueError(f"--auth: {item!r} is not user:password")
        pairs.append((user.strip(), password))
    return pairs


def make_app(model_dir: str | None = None, db: str | None = None, auth: str | None = None,
             annotate: str | None = None, concurrency: int = 8):
    """(app, launch kwargs) from arguments or, when omitted, the environment; shared with app.py."""
    from serve.annotate_tab import AnnotateTab, load_reviews
    from serve.annotations import AnnotationStore
    from serve.app import build_app, launch_options

    model = SentimentModel(model_dir or DEFAULT_DIR)
    store = AnnotationStore(db or os.environ.get("SENTILENS_DB", "annotations.sqlite3"))
    if annotate:
        print(load_reviews(store, model, annotate))
    app = build_app(model, AnnotateTab(model, store))
    app.queue(default_concurrency_limit=concurrency)
    return app, {"auth": parse_auth(auth if auth is not None else os.environ.get("SENTILENS_AUTH"))} | launch_options()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from serve.sources import DataError

    try:
        app, launch_kwargs = make_app(args.model, args.db, args.auth or "", args.annotate, args.concurrency)
    except (ValueError, ModelError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    app.launch(server_name=args.host, server_port=args.port, **launch_kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
