"""Output safety in one place: every string that came from the chain or from a user's file passes
through here on its way to a renderer.

On a public chain a model name, a DataNet name, a licence clause or a details key is whatever a
stranger chose to write. Three things must never happen to a reader:

- a terminal escape (ESC, CSI, OSC: colours, clear screen, window title), a C1 control, or a bidi
  override (Trojan Source) reaches the terminal, the DOT file or the HTML page as a raw byte;
- a newline or carriage return starts a line the renderer did not write (a forged ``verdict:``);
- the string is read as syntax by the renderer: rich markup (``[/bold]`` raises MarkupError),
  DOT quotes, HTML tags.

:func:`visible` makes controls visible as Python-style escapes (``\\x1b``, ``\\n``, ``\\u202e``),
so the reader sees that something odd is there instead of being fooled by it. Each renderer then
applies its own escaping: :func:`markup` for rich markup strings, :func:`text` for rich ``Text``
cells, the graphviz package's quoting for DOT (see :mod:`provenance_ledger.report.dot`), and jinja2's
autoescape with the ``visible`` filter for HTML (see :mod:`provenance_ledger.report.html`).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

__all__ = [
    "is_suspicious",
    "markup",
    "text",
    "visible",
]

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional formatting characters (marks, embeddings, overrides, isolates)."""

_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
"""Zero-width and soft characters that make two different names look identical."""


def _needs_escape(ch: str) -> bool:
    if ch in _BIDI or ch in _INVISIBLE:
        return True
    cat = unicodedata.category(ch)
    # Cc: C0/C1 controls and DEL; Cs: lone surrogates (not encodable); Zl/Zp: line/paragraph separators
    return cat in ("Cc", "Cs", "Zl", "Zp")


def _escape_char(ch: str) -> str:
    o = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if o <= 0xFF:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}"


def visible(value: object) -> str:
    """``value`` as a single-line string with every control, bidi and invisible character shown as
    an escape (``\\x1b``, ``\\n``, ``\\u202e``). Printable text, including non-Latin scripts, is kept."""
    s = value if isinstance(value, str) else str(value)
    if s.isprintable() and not any(c in _BIDI or c in _INVISIBLE for c in s):
        return s
    return "".join(_escape_char(c) if _needs_escape(c) else c for c in s)


def is_suspicious(value: str) -> bool:
    """True when :func:`visible` would change ``value`` (a name a reader should be warned about)."""
    return visible(value) != value


def markup(value: object) -> str:
    """``value`` made visible and escaped for embedding in a rich markup string."""
    from rich.markup import escape

    return escape(visible(value))


def text(value: object, style: str = "") -> Text:
    """``value`` made visible as a rich ``Text`` (never parsed as markup): for table cells and trees."""
    from rich.text import Text

    return Text(visible(value), style=style)
