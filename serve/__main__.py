"""``python -m serve``: the app on the committed model (see ``--help``)."""

from __future__ import annotations

import argparse
import sys

from sentilens.cli import command, parser
from sentilens.errors import InputError, SentilensError
from sentilens.settings import Settings
from serve.runtime import DEFAULT_DIR

EXAMPLES = ("sentilens serve",
            "sentilens serve --annotate reviews.csv --db team.db --auth-file users.txt --overlap 2 --leads ana",
            "sentilens serve --compare finetuned/ --host 0.0.0.0 --allowed-host sentilens.example.org")


def parse_args(argv: list[str] | None = None, settings: Settings | None = None) -> argparse.Namespace:
    env = settings or Settings.from_env()
    p = parser("python -m serve", main.__doc__, EXAMPLES)
    p.allow_abbrev = False
    p.add_argument("--model", default=str(DEFAULT_DIR), help="model directory (default: the committed exported/)")
    p.add_argument("--host", default=env.host, help="address to listen on (default 127.0.0.1; 0.0.0.0 for every "
                                                    "interface; or GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=int, default=env.port, help="port (default 7860, or GRADIO_SERVER_PORT)")
    p.add_argument("--annotate", metavar="PATH", help="reviews to annotate: CSV, JSONL, TXT or an aclImdb folder/.tar.gz")
    p.add_argument("--db", default=env.db, help="SQLite file for annotations (default: annotations.sqlite3, "
                                                "or SENTILENS_DB)")
    p.add_argument("--auth-file", default=env.auth_file, metavar="PATH",
                   help="require login: a file of user:password lines (or SENTILENS_AUTH_FILE)")
    p.add_argument("--compare", metavar="DIR", help="a second model directory (e.g. a fine-tuned one): adds a Compare "
                                                    "tab with both side by side")
    p.add_argument("--auth", help=argparse.SUPPRESS)  # refused below, with the way to do it
    p.add_argument("--guidelines", metavar="FILE.md", help="annotation guidelines (Markdown) shown in the Annotate tab")
    p.add_argument("--overlap", type=int, default=1, metavar="K",
                   help="annotators per review (default 1); with 2 or more the Team tab measures their agreement")
    p.add_argument("--concurrency", type=int, default=8, help="requests scored at once (default 8)")
    p.add_argument("--leads", metavar="NAMES", default="",
                   help="comma-separated logins that alone settle disputes and choose the version the app serves "
                        "(needs logins; a 'lead NAME' line in the logins file does the same)")
    p.add_argument("--allowed-host", action="append", default=list(env.allowed_hosts), metavar="NAME",
                   help="a host name the app answers to besides loopback and --host (repeatable; or "
                        "SENTILENS_ALLOWED_HOSTS); requests for any other Host are refused")
    args = p.parse_args(argv)
    if args.auth is not None:
        p.error("--auth: a password on the command line is visible to every user of the machine (ps); "
                "put user:password lines in a file for --auth-file, or set SENTILENS_AUTH")
    return args


def make_app(model_dir: str | None = None, db: str | None = None, auth_file: str | None = None,
             annotate: str | None = None, concurrency: int = 8, settings: Settings | None = None,
             compare_dir: str | None = None, host: str | None = None, allowed_hosts: list[str] | None = None,
             port: int | None = None, overlap: int = 1, guidelines: str | None = None, leads: str = ""):
    """(app, launch kwargs); what is not given comes from ``settings`` (the environment). Shared with app.py.
    ``port``, when the caller knows it, puts the app's address into the API page's examples."""
    from serve.app.annotate_intake import load_reviews, read_guidelines
    from serve.app.annotate_tab import AnnotateTab
    from serve.store.annotations import AnnotationStore
    from serve.app.blocks import build_app, launch_options
    from serve.app.logins import Logins
    from serve.learn.registry import BASE, Registry
    from serve.learn.served import ServedModel
    from serve.app.learn_panel import LearnPanel
    from serve.app.queue_limits import bound_queue
    from serve.runtime import SentimentModel

    env = settings or Settings.from_env()
    rules = read_guidelines(guidelines) if guidelines else None  # a bad file is refused before anything loads
    logins = Logins.from_sources(auth_file=auth_file or env.auth_file, auth=env.auth)
    lead_names = lead_logins(leads, logins)
    base = SentimentModel(model_dir or DEFAULT_DIR)
    store = AnnotationStore(db or env.db, overlap=overlap)
    # versions learned in the app live beside the database; a restart serves the one that was in use
    registry = Registry.beside(store.path, base.directory)
    model = ServedModel(base, BASE)
    in_use = registry.current()
    if in_use != BASE:
        try:
            model.switch(registry.directory(in_use), in_use)
        except SentilensError as err:
            print(f"warning: version {in_use} does not load ({err}); serving {base.directory}", file=sys.stderr)
    if annotate:
        print(load_reviews(store, model, annotate))
    compare = None
    if compare_dir:
        from serve.app.compare_tab import CompareTab

        compare = CompareTab(model, SentimentModel(compare_dir), store)
    address = f"http://{host or env.host}:{port}/" if port else None
    annotate_tab = AnnotateTab(model, store, address=address, guidelines=rules,
                               learning=LearnPanel(model, store, registry, leads=lead_names))
    app = build_app(model, annotate_tab, compare, address=address)
    bound_queue(app, concurrency)  # bounded waiting, unread results expire (serve.app.queue_limits)
    hosts = tuple(env.allowed_hosts if allowed_hosts is None else allowed_hosts)
    return app, {"auth": logins.check if logins else None} | launch_options(host or env.host, hosts)


def lead_logins(leads: str, logins) -> frozenset[str]:
    """The leads: ``--leads`` (comma-separated, each in its normal form, ``sentilens.names``) and the logins
    file's role lines. Refused in one line: a name that cannot be one, and leads without logins or naming
    a login that does not exist (a lead is someone who logs in)."""
    from sentilens.names import person_name

    names = frozenset(person_name(n, "name in --leads") for n in (leads or "").split(",") if n.strip())
    if names and not logins:
        raise InputError("--leads names logins: start the app with logins (--auth-file or SENTILENS_AUTH) too")
    unknown = sorted(names - set(logins.users)) if names else []
    if unknown:
        raise InputError(f"--leads: {', '.join(map(repr, unknown))} has no login; a lead is one of the logins "
                         "(a name:password line)")
    return names | (logins.leads if logins else frozenset())


@command("python -m serve", signals=False)  # the server stops itself on Ctrl-C
def main(argv: list[str] | None = None) -> int:
    """Run the app: analyze, label and learn in the browser, on the committed model or --model."""
    args = parse_args(argv)
    app, launch_kwargs = make_app(args.model, args.db, args.auth_file, args.annotate, args.concurrency,
                                  compare_dir=args.compare, host=args.host, allowed_hosts=args.allowed_host,
                                  port=args.port, overlap=args.overlap, guidelines=args.guidelines,
                                  leads=args.leads)
    app.launch(server_name=args.host, server_port=args.port, **launch_kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
