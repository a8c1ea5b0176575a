"""Small matrix products (explanations, batches of one review) run fastest on one BLAS thread,
and a multi-threaded OpenBLAS spinning beside onnxruntime's threads slows them 10-20x under
load. Set before numpy is first imported; an explicit setting by the user wins."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
