"""BENCHMARKS.md upkeep shared by the benchmark scripts: each owns one `## ` section."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the ``title`` section of ``path``, leaving every other section alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(title + "\n")
    block = f"{title}\n\n{body.rstrip()}\n"
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        nxt = text.find("\n## ", start + len(title))
        text = text[:start] + block + (text[nxt:] if nxt != -1 else "")
    path.write_text(text)
