"""The Gradio app: one module per tab (``*_tab``), the page that holds them (``blocks``) and the
pieces the tabs share (the review's HTML, the palette, message safety, uploads). Gradio lives here
and nowhere else in serve/."""

__all__: list[str] = []  # nothing of its own: its modules are imported by name
