"""One rule for a person's name (an annotator, a lead, a login), so that one person is one name.

A name identifies someone: the store counts votes by it, the Team tab lists people by it, and a lead
may not settle a review they voted on. So every place a name enters goes through ``person_name``,
which returns its one normal form or refuses it in one line:

- NFKC, then case folding, then NFKC again (``ＡＮＡ``, ``Ana`` and ``ana`` are one person; the
  second NFKC keeps the result stable). Case is folded because a name is an identifier here, not prose:
  "Ana" and "ana" are the same person typing twice far more often than two people, and letting case
  split them would let a voter settle their own dispute as "Ana" or count twice on one review.
- Outer whitespace stripped and inner runs of whitespace made one space.
- Refused: empty, over ``MAX_NAME`` characters (after normalising), lone surrogates (a crafted request;
  SQLite cannot store them), and every character that is not visible: controls, format characters
  (zero-width, bidi embeddings, overrides and isolates, marks U+200E/F, the BOM), private use,
  unassigned code points, line and paragraph separators, and blank letters such as U+3164; a name may
  not start with a combining mark. "ana" with U+200B or U+202E is refused rather than stripped: an
  invisible character in a name is a mistake or a disguise, and saying so is clearer than guessing.

Names written before this rule may be in any form: ``name_key`` gives any stored name a comparable key
without raising, and ``shown_name`` makes its invisible characters visible (``<U+200B>``) for display.
"""

from __future__ import annotations

import unicodedata

from sentilens.errors import InputError

__all__ = ["MAX_NAME", "name_key", "person_name", "shown_name"]

MAX_NAME = 64
_MAX_RAW = 1024  # longer input is refused before NFKC (which may expand a character 18 times) runs

# invisible or blank characters outside the refused categories (default-ignorable letters and marks)
_BLANK = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164,
                    0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_WHITESPACE = frozenset(" \t")  # typed between words; collapsed, not refused (a tab is otherwise a control)


def _bad(ch: str) -> bool:
    """Not a visible character of a name (spaces aside)."""
    if ch in _WHITESPACE:
        return False
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or ord(ch) in _BLANK


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def _fold(text: str) -> str:
    """NFKC, case folded, NFKC again, whitespace collapsed: the normal form of visible text."""
    return " ".join(unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).split())


def person_name(raw: object, what: str = "name") -> str:
    """The normal form of a person's name; ``InputError`` (one line, naming ``what``) when it cannot be one.

    ``what`` says which name it is in the message ("annotator name", "lead's name", "login name")."""
    if not isinstance(raw, str):
        raise InputError(f"The {what} must be text.")
    if len(raw) > _MAX_RAW:
        raise InputError(f"The {what} is too long: keep it to {MAX_NAME} characters.")
    for ch in raw:
        if "\ud800" <= ch <= "\udfff":
            raise InputError(f"The {what} holds characters that are not text (lone surrogates); retype it.")
    for text in (raw, unicodedata.normalize("NFKC", raw)):  # NFKC may make a character that is refused
        for ch in text:
            if _bad(ch):
                raise InputError(f"The {what} holds an invisible or control character ({_describe(ch)}); "
                                 "retype it with visible characters only.")
    name = _fold(raw)
    if not name:
        raise InputError(f"The {what} is empty: type it first.")
    if len(name) > MAX_NAME:
        raise InputError(f"The {what} is too long: keep it to {MAX_NAME} characters.")
    if unicodedata.category(name[0]).startswith("M"):
        raise InputError(f"The {what} starts with a combining mark ({_describe(name[0])}); start it with a letter.")
    if not name.isprintable() or any(_bad(ch) for ch in name):  # e.g. a space NFKC does not fold
        raise InputError(f"The {what} holds characters that cannot be shown; retype it with visible characters only.")
    return name


def name_key(stored: str) -> str:
    """A key to compare any stored name with normal forms, never raising: the normal form when the name has
    one, else the same folding with the characters ``person_name`` refuses taken out (names written
    before the rule, such as "ana" + U+200B, compare equal to "ana")."""
    try:
        return person_name(stored)
    except InputError:
        visible = "".join(ch for ch in str(stored) if not (_bad(ch) or "\ud800" <= ch <= "\udfff"))
        return _fold(visible)


def shown_name(stored: str) -> str:
    """A stored name as it may be shown: itself when it is in normal form, else with every character
    ``person_name`` refuses written as ``<U+XXXX>`` (two rows that look alike are told apart)."""
    try:
        if person_name(stored) == stored:
            return stored
    except InputError:
        pass
    return "".join(f"<U+{ord(ch):04X}>" if _bad(ch) or "\ud800" <= ch <= "\udfff" else ch for ch in str(stored))
