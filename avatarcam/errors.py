"""User-facing errors: each carries one sentence saying what is wrong and how to fix it.

The CLI prints the message of an `AvatarcamError` without a traceback and exits with its
`exit_code`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AvatarcamError(Exception):
    """A fault the user can fix; `str(err)` is the one sentence shown to them."""

    exit_code: int = 2


class AudioInputError(AvatarcamError):
    """The microphone (or its driver) cannot be opened or used as asked."""


class DeviceNotFoundError(AudioInputError):
    """A device named by the user does not exist."""


class AudioFileError(AvatarcamError):
    """An audio file cannot be read: missing, not audio, empty or without channels."""
