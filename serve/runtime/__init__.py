"""The runtime: the exported model on onnxruntime (``model``), scoring in chunks (``scoring``), the
reading process (``reader_process``) and the one owner of the scored-row schema (``rows``) that the
batch jobs, Spark and the Data tab read. It changes when the model's contract or the scoring changes;
it knows nothing of Gradio, annotations or commands."""

from serve.runtime.model import DEFAULT_DIR, SentimentModel, default_threads

__all__ = ["DEFAULT_DIR", "SentimentModel", "default_threads"]
