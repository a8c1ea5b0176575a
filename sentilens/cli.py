"""One runner for every command, and the ``sentilens`` command that lists them.

Every job (``sentilens score``, ``python -m serve.batch``, ``python -m trainer``...) is a ``main(argv)``
wrapped by :func:`command`, so each behaves the same way:

- bad input (a ``SentilensError``, a file we cannot read or write): one line ``error: ...``, exit 2;
- a bug (any other exception): one line naming the log file that holds the traceback, exit 1;
- Ctrl-C or SIGTERM: ``Stopped`` (see ``sentilens.staging``) unwinds the work, nothing half-written
  stays, one line, exit 128 + the signal's number; once the results are in place a late stop changes
  nothing.

The subcommands are the ``sentilens.commands`` entry points of the installed package (pyproject.toml
is the registry, as spaCy's and pytest's plugins are): ``sentilens --help`` reads each module's first
docstring line without importing it, so listing the jobs never loads TensorFlow, Spark or Gradio.
"""

from __future__ import annotations

import argparse
import ast
import contextvars
import functools
import importlib
import importlib.metadata
import importlib.util
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from sentilens.errors import SentilensError
from sentilens.staging import STOP_SIGNALS, Stopped, stop_on_signals

__all__ = ["command", "parser", "commands", "main", "log_dir"]

GROUP = "sentilens.commands"
_prog: contextvars.ContextVar[str | None] = contextvars.ContextVar("sentilens_prog", default=None)


def log_dir() -> Path:
    """Where a bug's traceback is written: $SENTILENS_LOG_DIR, else the user's cache folder."""
    if os.environ.get("SENTILENS_LOG_DIR"):
        return Path(os.environ["SENTILENS_LOG_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sentilens" / "logs"


def _log_bug(name: str) -> str:
    """Write the current exception's traceback to a new log file; the file's path, or the traceback
    itself on stderr when no log can be written."""
    text = traceback.format_exc()
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name.replace(' ', '-').replace('.', '-')}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        path.write_text(f"{' '.join(sys.argv)}\n\n{text}", encoding="utf-8")
        return str(path)
    except OSError:
        sys.stderr.write(text)
        return "the traceback above"


def parser(default_prog: str, doc: str | None, examples: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command's parser, named as the user called it (``sentilens score`` or ``python -m serve.batch``),
    its description the module docstring's first line, its examples under ``--help``."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) if examples else None
    return argparse.ArgumentParser(prog=_prog.get() or default_prog, epilog=epilog,
                                   description=(doc or "").strip().splitlines()[0] if doc else None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def command(name: str, *, signals: bool = True, failure_note: str = "") -> Callable:
    """Wrap ``main(argv) -> int`` in the runner. ``signals``: SIGINT/SIGTERM raise ``Stopped`` inside
    the job (False for the app, whose server stops on its own). ``failure_note`` ends a bug's line
    (e.g. that no output was written). Called with no argv, the job is its process's command: after
    it succeeds a late signal is ignored."""

    def wrap(main: Callable[[list[str] | None], int | None]) -> Callable[[list[str] | None], int]:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            process = argv is None
            try:
                if not signals:
                    return main(argv) or 0
                with stop_on_signals(restore=not process):
                    code = main(argv) or 0
                    if process:  # done: from here the process only exits
                        for s in STOP_SIGNALS:
                            signal.signal(s, signal.SIG_IGN)
                    return code
            except Stopped as err:
                print(f"error: {err}", file=sys.stderr)
                return err.code
            except SentilensError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
            except OSError as err:  # a full disk, a folder we may not write, a missing file
                where = f"{err.filename}: " if err.filename else ""
                note = f"; {failure_note}" if failure_note else ""
                print(f"error: {where}{err.strerror or err}{note}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print("stopped", file=sys.stderr)
                return 128 + signal.SIGINT
            except Exception as err:  # noqa: BLE001 - a bug: its traceback in a log, one line here
                who = _prog.get() or name
                where = _log_bug(who)
                note = f"; {failure_note}" if failure_note else ""
                print(f"error: {who} failed ({type(err).__name__}: {str(err)[:300]}){note}; the traceback is in "
                      f"{where}; please report it", file=sys.stderr)
                return 1

        return run

    return wrap


def commands() -> dict[str, importlib.metadata.EntryPoint]:
    """The installed subcommands by name."""
    return {ep.name: ep for ep in sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: e.name)}


def _summary(target: str) -> str:
    """The first line of the job's docstring (``module:function``: the function's, else the module's),
    read from its source without importing it."""
    module, _, function = target.partition(":")
    try:
        spec = importlib.util.find_spec(module)
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        node = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
        doc = (node is not None and ast.get_docstring(node)) or ast.get_docstring(tree) or ""
        return doc.strip().splitlines()[0]
    except (ImportError, AttributeError, OSError, SyntaxError, IndexError, TypeError):
        return ""


def main(argv: list[str] | None = None) -> int:
    """``sentilens <job> [options]``: hand the rest of the line to the job, named ``sentilens <job>``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    found = commands()
    if not argv or argv[0] in ("-h", "--help"):
        width = max(map(len, found), default=0)
        lines = [f"  {name:<{width}}  {_summary(ep.value)}" for name, ep in found.items()]
        print("usage: sentilens <job> [options]   (sentilens <job> --help for its options and examples)\n\n"
              "Score, explain and improve a sentiment model of movie reviews.\n\njobs:\n" + "\n".join(lines))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in found:
        print(f"error: no job called {name!r}; the jobs are: {', '.join(found)}", file=sys.stderr)
        return 2
    token = _prog.set(f"sentilens {name}")
    saved, sys.argv = sys.argv, [f"sentilens {name}", *rest]  # the job reads its own line, as a process
    try:
        return found[name].load()()
    finally:
        sys.argv = saved
        _prog.reset(token)
