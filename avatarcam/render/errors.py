"""The error raised when a portrait photo cannot be turned into an avatar."""

from __future__ import annotations

from avatarcam.errors import AvatarcamError


class PortraitError(AvatarcamError):
    """The portrait is missing, not an image, too small, or has no usable face."""
