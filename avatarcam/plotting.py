"""Matplotlib for the benchmark and evaluation plots, without a display."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """`matplotlib.pyplot` on the Agg backend, which writes PNGs on machines with no
    display. Imported on first use only: every `avatarcam` command imports the modules
    that plot, and most never draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
