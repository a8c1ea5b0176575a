"""The annotation store: people's labels in SQLite (``annotations``: store, queue, leases, undo; ``schema``:
our tables, and the mark that tells our database from another application's), the export of every
decision (``export``) and the agreement between annotators (``agreement``). It changes when what we keep of a person's work
changes; it knows nothing of the model or of Gradio."""

__all__: list[str] = []  # nothing of its own: its modules are imported by name
