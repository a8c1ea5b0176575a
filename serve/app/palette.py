"""One colour meaning across the app: blue is positive, red is negative, everywhere.

The verdict, the word highlights, the legend and the Annotate buttons all take their colours
from here (a red-blue diverging scale, readable with the common colour-vision deficiencies).
A highlight's text is black or white, whichever contrasts more with its background: the
worse of the two is never under 4.58:1, so every shade passes WCAG AA (4.5:1).
"""

from __future__ import annotations

__all__ = ["BLACK", "DARK", "GRADIO_GREY", "NEGATIVE", "POSITIVE", "STRONGEST", "WHITE", "contrast", "css", "hex_of",
           "legend_gradient", "luminance", "shade"]

POSITIVE = (33, 102, 172)  # #2166ac
NEGATIVE = (178, 24, 43)  # #b2182b
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
DARK = (15, 15, 17)  # the page in Gradio's dark mode: a word of no weight is the page itself
STRONGEST = 0.9  # the strongest word gets 90% of the full colour, so the text never sits on a flat block


def hex_of(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def shade(score: float, base: tuple[int, int, int] = WHITE) -> tuple[str, str]:
    """(background, text) for a score in [-1, 1]: the page (``base``) at 0, toward blue (+) or red (-)."""
    full = POSITIVE if score > 0 else NEGATIVE
    a = min(abs(score), 1.0) * STRONGEST
    bg = tuple(round(b * (1 - a) + c * a) for b, c in zip(base, full))
    text = BLACK if contrast(bg, BLACK) >= contrast(bg, WHITE) else WHITE
    return hex_of(bg), hex_of(text)


def legend_gradient(base: tuple[int, int, int] = WHITE) -> str:
    """The legend bar: the same scale as the words, negative on the left."""
    stops = [f"{shade(x / 4, base)[0]} {(x + 4) * 12.5:g}%" for x in range(-4, 5)]
    return f"linear-gradient(to right, {', '.join(stops)})"


def css() -> str:
    """Colour rules for Gradio components we own (buttons, verdicts); the rest is in assets/review.css."""
    pos, neg = hex_of(POSITIVE), hex_of(NEGATIVE)
    return (f":root {{ --sl-pos: {pos}; --sl-neg: {neg}; }}\n"
            f"#ann-pos {{ background: {pos}; color: #fff; border-color: {pos}; }}\n"
            f"#ann-neg {{ background: {neg}; color: #fff; border-color: {neg}; }}\n"
            f"#team-pos {{ background: {pos}; color: #fff; border-color: {pos}; }}\n"
            f"#team-neg {{ background: {neg}; color: #fff; border-color: {neg}; }}\n"
            f"#bulk-pos {{ background: {pos}; color: #fff; border-color: {pos}; }}\n"
            f"#bulk-neg {{ background: {neg}; color: #fff; border-color: {neg}; }}\n"
            # Gradio's footer and upload hint are light grey on white (1.9:1): darker in light mode,
            # lighter in dark mode, to pass AA in both. One selector a rule: Gradio scopes custom CSS
            # and moves `.dark` to the front of the first selector of a list only.
            + "".join(f"{sel} {{ color: #5f5f6b !important; }}\n.dark {sel} {{ color: #b4b4bd !important; }}\n"
                      for sel in GRADIO_GREY))


GRADIO_GREY = ("footer a", "footer button", "footer .show-api", "footer .settings", ".upload-container .or")
