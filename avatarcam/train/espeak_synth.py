"""espeak-ng driven in-process through its C library, whose phoneme events give each
phoneme's exact sample position in the audio it returns."""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from avatarcam.train.phonemes import ESPEAK_MODIFIERS, Phone, from_espeak
from avatarcam.train.speech import INSTALL_HINT, SpokenText, Style, SynthesizerMissingError, spoken

LIBRARY_NAMES = ("libespeak-ng.so.1", "espeak-ng")

# speak_lib.h (API revision 12): enum values used here.
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
CHARS_UTF8 = 1
POS_CHARACTER = 1
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE = 1, 2, 3, 4
EE_OK = 0

# espeak-ng times a stop's phoneme event at its burst whenever the closure before it is
# digital silence (always for p, t, k; for b, d, g the closure is mostly voiced): that
# silence is counted in the previous phone. The lips shut where it begins, so the stop's
# phone is moved back there.
STOPS = frozenset({"p", "b", "t", "d", "k", "g"})
CLOSURE_STEP_S = 0.005  # granularity of the silence search
CLOSURE_MAX_S = 0.12  # a longer gap is a pause; the closure is taken as its last part
CLOSURE_SILENCE = 1e-4  # |sample| below this (about −80 dBFS) counts as espeak's silence

PITCH_SPAN = (25, 75)  # espeakPITCH values that `Style.pitch` 0..1 maps onto
PITCH_RANGE = 60  # espeakRANGE: a little livelier intonation than the default 50

# English voices with variants; espeak_SetVoiceByName takes "voice+variant".
VOICES = (
    "en-us", "en-us+f2", "en-us+m3", "en-us+f4", "en-us+klatt", "en", "en+f3",
    "en+m5", "en-us-nyc+f1", "en-gb-x-rp", "en-gb-x-rp+f1", "en-gb-x-gbclan+m2", "en-gb-x-gbcwmd+f5",
    "en-gb-scotland", "en-gb-scotland+m3", "en-029+f3", "en-us+m7",
)


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),  # samples from the start of the message
        ("user_data", ctypes.c_void_p),
        ("name", ctypes.c_char * 8),  # union id: the phoneme mnemonic for EVENT_PHONEME
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class _Capture:
    """Audio blocks and phoneme onsets collected by the callback for one message."""

    blocks: list[npt.NDArray[np.int16]] = field(default_factory=list)
    onsets: list[tuple[int, str]] = field(default_factory=list)  # (sample, espeak name)


class EspeakEngine:
    """One process-wide espeak-ng instance (the library keeps global state)."""

    def __init__(self) -> None:
        self._lib = _load_library()
        self._capture = _Capture()
        self._callback = _CALLBACK(self._on_audio)  # kept referenced while the library holds it
        self.rate = int(self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_PHONEME_EVENTS
        ))
        if self.rate <= 0:
            raise SynthesizerMissingError(
                f"espeak-ng's library could not start (no espeak-ng-data?); {INSTALL_HINT}."
            )
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]

    def _on_audio(self, wav: ctypes._Pointer, count: int, events: ctypes._Pointer) -> int:
        """SynthCallback: keep the samples and the phoneme events of this block."""
        if wav and count > 0:
            self._capture.blocks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            if events[i].type == EVENT_PHONEME:
                name = events[i].name.decode("utf-8", "replace")
                self._capture.onsets.append((events[i].sample, name))
            i += 1
        return 0

    def speak(self, text: str, voice: str, style: Style) -> SpokenText:
        """`text` spoken by `voice` in `style`, with phones from the phoneme events."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        low, high = PITCH_SPAN
        self._lib.espeak_SetParameter(PARAM_RATE, style.rate_wpm, 0)
        self._lib.espeak_SetParameter(PARAM_PITCH, round(low + style.pitch * (high - low)), 0)
        self._lib.espeak_SetParameter(PARAM_RANGE, PITCH_RANGE, 0)
        self._capture = _Capture()
        encoded = text.encode()
        status = self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        if status != EE_OK or self._lib.espeak_Synchronize() != EE_OK:
            raise RuntimeError(f"espeak-ng failed on {text!r} (status {status})")
        samples = np.concatenate(self._capture.blocks).astype(np.float32) / 32768.0
        onsets = _closure_onsets(self._capture.onsets, samples, self.rate)
        return spoken(samples, self.rate, _phones(onsets, self.rate, len(samples)), style)


def _closure_onsets(
    onsets: list[tuple[int, str]], samples: npt.NDArray[np.float32], rate: int
) -> list[tuple[int, str]]:
    """`onsets` with each stop moved from its burst back to the start of the silent
    closure before it, if any (at most `CLOSURE_MAX_S`, never before the previous onset)."""
    step = max(1, round(CLOSURE_STEP_S * rate))
    longest = round(CLOSURE_MAX_S * rate)
    moved: list[tuple[int, str]] = []
    for sample, name in onsets:
        if name not in ESPEAK_MODIFIERS and from_espeak(name) in STOPS:
            floor = max(moved[-1][0] + step if moved else 0, sample - longest)
            while sample - step >= floor and np.abs(samples[sample - step:sample]).max() < CLOSURE_SILENCE:
                sample -= step
        moved.append((sample, name))
    return moved


def _phones(onsets: list[tuple[int, str]], rate: int, total: int) -> list[Phone]:
    """Phones from onset events: each lasts until the next onset or the end of the audio."""
    onsets = [(sample, name) for sample, name in onsets if name not in ESPEAK_MODIFIERS]
    ends = [sample for sample, _ in onsets[1:]] + [total]
    return [
        Phone(from_espeak(name), start / rate, end / rate)
        for (start, name), end in zip(onsets, ends) if end > start
    ]


def _load_library() -> ctypes.CDLL:
    """The espeak-ng shared library, or `SynthesizerMissingError` saying how to install it."""
    for name in LIBRARY_NAMES:
        path = name if name.endswith(".1") else ctypes.util.find_library(name)
        if path:
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    raise SynthesizerMissingError(
        f"espeak-ng's C library (libespeak-ng1) is not installed, so its training speech cannot be "
        f"made; {INSTALL_HINT} (Debian/Ubuntu: apt install espeak-ng libespeak-ng1)."
    )


_ENGINE: EspeakEngine | None = None


def engine() -> EspeakEngine:
    """This process's espeak-ng engine, started on first use."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = EspeakEngine()
    return _ENGINE
