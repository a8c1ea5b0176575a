"""The command-line jobs on the runtime: ``batch`` (score a file), ``convert`` (a source to CSV/JSONL),
``compare`` (two models on the same reviews) and ``spark`` (scoring beyond one machine). Each is a
``sentilens`` subcommand and keeps its ``python -m serve.<job>`` entry point."""

__all__: list[str] = []  # nothing of its own: its modules are imported by name
