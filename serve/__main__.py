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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        auth = parse_auth(args.auth)
        model = SentimentModel(args.model)
    except (ValueError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from serve.annotate_tab import AnnotateTab, load_reviews
    from serve.annotations import AnnotationStore
    from serve.app import build_app, launch_options
    from serve.sources import DataError

    store = AnnotationStore(args.db)
    if args.annotate:
        try:
            print(load_reviews(store, model, args.annotate))
        except DataError as err:
            print(f"error: --annotate: {err}", file=sys.stderr)
            return 2
    app = build_app(model, AnnotateTab(model, store))
    app.queue(default_concurrency_limit=args.concurrency)
    app.launch(server_name=args.host, server_port=args.port, auth=auth, **launch_options())
    return 0


if __name__ == "__main__":
    sys.exit(main())
