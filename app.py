"""Hugging Face Space entry point: the sentilens app on the committed model in exported/.

Spaces run ``python app.py``; settings come from the environment (SENTILENS_DB, SENTILENS_AUTH).
"""

from serve.__main__ import make_app

demo, launch_kwargs = make_app()

if __name__ == "__main__":
    demo.launch(server_name="0.0.0.0", **launch_kwargs)
