"""Half-step frames: the face halfway between two 25 fps motion frames, as soon as its
audio is complete.

Motion frames come every 40 ms, so an output tick at 30 fps finds the newest one anywhere
from 0 to 33 ms old, and that wait is the largest part of the latency's 95th percentile
after the audio itself (docs/benchmarks.md). A half-step frame depicts the instant 20 ms
after the newest frame. It is the same network run once more, on the log-mel windows
20 ms later (its audio path is a convolution, so it does not care where the grid starts),
with its context, the frames before, interpolated onto that shifted grid. It is shown and
never fed back: the stream's own frames, and so its seams, stay what they are without it.
Made 20 ms after the frame before it, it halves the age of the newest motion at a tick.
"""

from __future__ import annotations

import numpy as np

from avatarcam.motion.jaw_contrast import JAW, JawContrast
from avatarcam.motion.space import Vector, clamp, field_mask

_EYES = field_mask(("blink_l", "blink_r"))


def half_step_context(history: np.ndarray) -> np.ndarray:
    """The context frames of the grid shifted half a frame: from frames k-n+1 … k
    (n, fields), the frames at k-n+½ … k-½ (the first, before the oldest kept, held)."""
    if len(history) < 2:
        return history.copy()
    return np.concatenate((history[:1], 0.5 * (history[:-1] + history[1:]))).astype(np.float32)


def half_step_vector(raw: Vector, newest_raw: Vector, newest_shown: Vector, previous_jaw: float,
                     contrast: JawContrast, eyelids: float | None) -> Vector:
    """The half-step frame as shown, from the network's `raw` output for it.

    What the layers after the network added to the newest frame (breathing, sway, the head
    leash, all far slower than 20 ms) is carried over; the jaw contrast is taken from
    `previous_jaw`, the raw jaw one frame period (40 ms) before the half step; `eyelids`,
    the blink closure at the half step's instant (None without liveliness), shuts the eyes
    at least that far, as it does on the stream's own frames."""
    raw = np.asarray(raw, np.float32)
    shown = clamp(np.asarray(newest_shown, np.float32) + (raw - newest_raw))
    shown[JAW] = contrast.lead(raw, previous_jaw)[JAW]
    if eyelids is not None:
        shown[_EYES] = np.maximum(raw[_EYES], eyelids)
    return shown
