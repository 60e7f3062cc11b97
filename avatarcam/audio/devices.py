"""Microphones as PortAudio sees them, and resolving the one the user asked for."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from avatarcam.errors import AudioInputError, DeviceNotFoundError


@dataclass(frozen=True)
class InputDevice:
    """One capture device: what `avatarcam devices` lists and what capture opens."""

    index: int  # PortAudio device index
    name: str
    hostapi: str  # e.g. "ALSA", "Windows WASAPI", "Core Audio"
    default_samplerate: float  # Hz, the rate the device prefers
    channels: int  # max input channels
    is_default: bool  # the system's default input


def load_sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio library into a fixable error."""
    try:
        import sounddevice
    except OSError as err:  # raised when libportaudio cannot be loaded
        raise AudioInputError(
            "PortAudio is not installed, so no microphone can be opened: run "
            "`install/system-packages.sh` (Debian/Ubuntu: apt install libportaudio2)."
        ) from err
    return sounddevice


def list_input_devices() -> list[InputDevice]:
    """All devices with at least one input channel, in PortAudio's order."""
    sd = load_sounddevice()
    try:
        default_in = sd.default.device[0]
        hostapis = sd.query_hostapis()
        devices = sd.query_devices()
    except sd.PortAudioError as err:
        raise AudioInputError(f"PortAudio cannot list devices ({err}); check the audio system.") from err
    result = []
    for index, dev in enumerate(devices):
        if dev["max_input_channels"] < 1:
            continue
        result.append(
            InputDevice(
                index=index,
                name=str(dev["name"]),
                hostapi=str(hostapis[dev["hostapi"]]["name"]),
                default_samplerate=float(dev["default_samplerate"]),
                channels=int(dev["max_input_channels"]),
                is_default=index == default_in,
            )
        )
    return result


def resolve_input_device(spec: str | int | None) -> InputDevice:
    """The device for `spec`: None is the default input, an int or digit string an index,
    otherwise an exact name or else a unique case-insensitive substring of one."""
    devices = list_input_devices()
    if not devices:
        raise AudioInputError(
            "No microphone found: connect one (or start PulseAudio/PipeWire), then check "
            "`avatarcam devices`; to run without one, pass --audio-file."
        )
    if spec is None:
        for dev in devices:
            if dev.is_default:
                return dev
        return devices[0]
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        for dev in devices:
            if dev.index == index:
                return dev
        raise DeviceNotFoundError(
            f"There is no input device with index {index}; `avatarcam devices` lists the microphones."
        )
    for dev in devices:
        if dev.name == spec:
            return dev
    matches = [dev for dev in devices if spec.lower() in dev.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceNotFoundError(
            f"There is no microphone named {spec!r}; `avatarcam devices` lists the ones available."
        )
    names = ", ".join(repr(dev.name) for dev in matches)
    raise DeviceNotFoundError(
        f"The microphone name {spec!r} matches several devices ({names}); give more of the name or its index."
    )
