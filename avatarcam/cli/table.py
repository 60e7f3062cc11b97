"""Plain-text tables for the CLI listings, so that they all look alike."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """`rows` under `headers` in left-aligned columns two spaces apart, shared by the CLI
    listings so that they all look alike."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    return "\n".join(
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in (headers, *rows)
    )
