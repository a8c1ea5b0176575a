"""What the API page says about each endpoint: a description per parameter and return value, and
examples with the app's own address.

``gr.api`` builds each parameter's JSON schema from its type hint alone, and Gradio 6's API page prints
a fixed sentence per value ("The input value that is provided in the '1st' Api component", "The output
value that appears in the '1st' Api component") with no room for a return's meaning. So the meaning of
every parameter goes into its schema (the page prints it after that sentence, the client's
``view_api`` shows it), every return's into its schema and its component's label, and
``assets/api_docs.js`` (in the page head) puts our words in place of Gradio's sentences.
"""

from __future__ import annotations

import gradio as gr
from gradio.context import get_blocks_context

__all__ = ["client_call", "describe"]


def describe(dependency: gr.events.Dependency, parameters: list[str], returns: list[str]) -> None:
    """Give the endpoint ``dependency`` (what ``gr.api`` returned) one description per parameter, in
    order, and per return value."""
    blocks = get_blocks_context().blocks
    # Gradio reads a parameter's text from "additional_description" and a return's from "description";
    # the page names a return by its component's label, which api_docs.js replaces with the description
    for ids, texts, key in ((dependency["inputs"], parameters, "additional_description"),
                            (dependency["outputs"], returns, "description")):
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} values to describe, {len(texts)} descriptions given")
        for block_id, text in zip(ids, texts):
            api = blocks[block_id]
            api._api_info = {**api._api_info, key: text}  # what api_info() hands the API page
            if key == "description":
                api.label = text


def client_call(address: str | None, *args: str, api_name: str) -> str:
    """A gradio_client line for the docs, with the address the app was started on when it is known."""
    where = repr(address) if address else "'<this app's URL>'"
    shown = ", ".join([*(repr(a) for a in args), f"api_name={api_name!r}"])
    return f"Client({where}).predict({shown})"
