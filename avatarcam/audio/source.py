"""The interface every audio source offers to the front end: microphone and file alike."""

from __future__ import annotations

from typing import Protocol

from avatarcam.audio.chunk import AudioChunk


class AudioSource(Protocol):
    """Mono audio arriving in chunks stamped with their capture time."""

    rate: int  # Hz of the chunks this source yields

    def start(self) -> None:
        """Begin producing audio."""

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk, or None when none arrived within `timeout` seconds."""

    @property
    def finished(self) -> bool:
        """True once the source has no more audio to give (end of file, or stopped)."""

    def stop(self) -> None:
        """Stop producing audio and release the device or file."""
