"""Training and export. TensorFlow's C++ start-up chatter is silenced unless the user asks for it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
