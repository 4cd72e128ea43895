"""Writing a YAML scalar so that it reads back as exactly the string it was given.

This module owns the choice between plain, single-quoted and double-quoted text: an
edited value keeps the old value's quoting style when that style can hold it.
"""

from __future__ import annotations

from .yaml_load import NULL_WORDS

# Characters that cannot start a plain scalar (or would change its meaning there).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_SPECIAL = frozenset(",[]{}:")
_DOUBLE_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\x07": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def _printable_inline(char: str) -> bool:
    """YAML-printable and not a line break (NEL, LS, PS break lines in YAML)."""
    return (
        char == "\t"
        or " " <= char <= "~"
        or ("\xa0" <= char <= "\ud7ff" and char not in "\u2028\u2029")
        or ("\ue000" <= char <= "\ufffd" and char != "\ufeff")
        or char >= "\U00010000"
    )


def plain_ok(value: str, in_flow: bool = False) -> bool:
    """Whether `value` reads back as exactly this string when written plain."""
    if value in NULL_WORDS or value != value.strip(" \t"):
        return False
    if value[0] in _INDICATORS or value.startswith("..."):
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    if in_flow and any(char in _FLOW_SPECIAL for char in value):
        return False
    return all(char != "\t" and _printable_inline(char) for char in value)


def double_quoted(value: str) -> str:
    parts = []
    for char in value:
        if char in _DOUBLE_ESCAPES:
            parts.append(_DOUBLE_ESCAPES[char])
        elif _printable_inline(char):
            parts.append(char)
        elif char <= "\xff":
            parts.append(f"\\x{ord(char):02x}")
        elif char <= "\uffff":
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(f"\\U{ord(char):08x}")
    return '"' + "".join(parts) + '"'


def _single_quoted(value: str) -> str | None:
    if not all(_printable_inline(char) for char in value):
        return None
    return "'" + value.replace("'", "''") + "'"


def render_scalar(value: str, style: str | None = None, in_flow: bool = False) -> str:
    """Write `value` in the old value's quoting style when that style can hold it."""
    if style == "'":
        single = _single_quoted(value)
        if single is not None:
            return single
    elif style != '"' and plain_ok(value, in_flow):
        return value
    return double_quoted(value)
