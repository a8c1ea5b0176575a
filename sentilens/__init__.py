"""The foundation every part of sentilens stands on, importing only the standard library and numpy.

- ``codec``: text -> tokens -> ids -> the padded vector (training and serving encode identically);
- ``sources``: the review files we accept (aclImdb, CSV, JSONL, TXT, Parquet) as streams of records,
  each format registered once with its suffixes (``sources.formats``);
- ``labels``: the label values, their words and the one threshold rule;
- ``artifact``: the exported model's contract (``metadata.json``), written by the trainer and
  loaded, fully validated, by everything that serves;
- ``metrics``: binary classification metrics; ``settings``: environment and constants read once;
  ``errors``: our exception types, each turned into one line by every entry point.

Dependencies point one way: ``sentilens <- explain <- serve <- trainer``.
"""

from sentilens import settings as _settings

_settings.apply_process_defaults()

__all__: list[str] = []  # nothing of its own: its modules are imported by name
