"""Learning from people's labels inside the serving install (numpy and onnxruntime, no TensorFlow).

The LSTM stays the parent's; its states over the labelled reviews are computed once (``states``),
the word and pair evidence above them is refitted to the labels with the parent's tables as the
prior (``fit``), and a new version is written by replacing those tensors in the export's external
data (``version``), checked through the artifact contract. ``learner.learn`` is the whole flow;
``registry`` keeps versions beside the annotation database; ``served`` swaps the model the app serves.
"""

__all__: list[str] = []  # nothing of its own: its modules are imported by name
