"""Sub-step frames: the face between two 25 fps motion frames, as soon as its audio is
complete.

Motion frames come every 40 ms, so an output tick at 30 fps finds the newest one anywhere
from 0 to 33 ms old, and that wait is the largest part of the latency's 95th percentile
after the audio itself (docs/benchmarks.md). A sub-step frame depicts an instant 10, 20 or
30 ms after the newest frame. It is the same network run once more, on log-mel windows that
many rows later (its audio path is a convolution, so it does not care where the grid
starts), with its context, the frames before, interpolated onto that shifted grid. It is
shown and never fed back: the stream's own frames, and so its seams, stay what they are
without it. With n frames per 40 ms, the newest motion at a tick is at most 40/n ms old.
"""

from __future__ import annotations

import numpy as np

from avatarcam.constants import FEATURES_PER_MOTION_FRAME
from avatarcam.motion.jaw_contrast import JAW, JawContrast
from avatarcam.motion.space import Vector, clamp, field_mask

# frames per 40 ms: 1, 2 or 4, so that each sub-step is a whole number of 10 ms log-mel rows
SUB_STEP_CHOICES = tuple(n for n in range(1, FEATURES_PER_MOTION_FRAME + 1) if FEATURES_PER_MOTION_FRAME % n == 0)

_EYES = field_mask(("blink_l", "blink_r"))


def shifted_context(history: np.ndarray, share: float) -> np.ndarray:
    """The context frames on the grid `share` of a frame later: from frames k-n+1 … k
    (n, fields), the frames at k-n+share … k-1+share, interpolated (the first, before the
    oldest kept, held)."""
    if len(history) < 2:
        return history.copy()
    later = share * history[1:] + (1.0 - share) * history[:-1]
    return np.concatenate((history[:1], later)).astype(np.float32)


def sub_step_vector(raw: Vector, newest_raw: Vector, newest_shown: Vector, previous_jaw: float,
                    contrast: JawContrast, eyelids: float | None) -> Vector:
    """The sub-step frame as shown, from the network's `raw` output for it.

    What the layers after the network added to the newest frame (breathing, sway, the head
    leash, all far slower than 40 ms) is carried over; the jaw contrast is taken from
    `previous_jaw`, the raw jaw one frame period (40 ms) before the sub-step; `eyelids`,
    the blink closure at the sub-step's instant (None without liveliness), shuts the eyes
    at least that far, as it does on the stream's own frames."""
    raw = np.asarray(raw, np.float32)
    shown = clamp(np.asarray(newest_shown, np.float32) + (raw - newest_raw))
    shown[JAW] = contrast.lead(raw, previous_jaw)[JAW]
    if eyelids is not None:
        shown[_EYES] = np.maximum(raw[_EYES], eyelids)
    return shown
