"""Print the README's markdown table of motion fields, generated from the motion space.

The README's copy sits between `START_MARKER` and `END_MARKER`; paste this script's output
there whenever `avatarcam/motion/space.py` changes (a test fails until the two agree).

    python tools/readme_motion_table.py
"""

from __future__ import annotations

from avatarcam.motion.space import FIELDS

START_MARKER = "<!-- motion-fields:start -->"
END_MARKER = "<!-- motion-fields:end -->"


def markdown_table() -> str:
    """The fields in canonical order as a markdown table, one row per field."""
    lines = [
        "| # | field | group | unit | range | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for position, field in enumerate(FIELDS):
        lines.append(
            f"| {position} | `{field.name}` | {field.group} | {field.unit} "
            f"| {field.low:g} … {field.high:g} | {field.description} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
