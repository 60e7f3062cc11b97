"""Marks drawn into the outgoing picture itself, so that every viewer (not only the
preview) can tell a held picture from a live one."""

from __future__ import annotations

import cv2
import numpy as np

FROZEN_TEXT = "paused"
BADGE_RGB = (200, 30, 30)
TEXT_RGB = (255, 255, 255)
MARGIN_FRACTION = 0.03  # of the frame height, from the top-left corner


def frozen_badge(frame: np.ndarray) -> np.ndarray:
    """A copy of `frame` (H, W, 3 uint8 RGB) with a red "paused" badge in its corner."""
    out = frame.copy()
    height = out.shape[0]
    scale = height / 720.0
    margin = int(MARGIN_FRACTION * height)
    (w, h), base = cv2.getTextSize(FROZEN_TEXT, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.rectangle(out, (margin, margin), (margin + w + margin, margin + h + base + margin // 2),
                  BADGE_RGB, -1)
    cv2.putText(out, FROZEN_TEXT, (margin + margin // 2, margin + h + margin // 4),
                cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_RGB, 2, cv2.LINE_AA)
    return out
