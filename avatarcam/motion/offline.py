"""Motion for a whole audio file through exactly the streaming path, for files and evaluation.

The file is replayed as a microphone would deliver it (unpaced), through the same front end
and `MotionStreamer` the live engine uses, so what an evaluation measures here is what a
user sees live. Frame k of the result is the motion of the file's k-th 40 ms span, at
t = k / 25 s from the file's start: the convention of the training corpus's CSVs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from avatarcam.audio.file_source import FileSource
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.constants import MOTION_FPS
from avatarcam.errors import AudioFileError
from avatarcam.motion.space import MotionTrack
from avatarcam.motion.stream import MotionFrame, MotionStreamer, StreamConfig, load_motion_model


@dataclass(frozen=True)
class OfflineMotion:
    """The motion of one file and the live VAD state each frame was made with."""

    track: MotionTrack  # 25 fps, t = k / 25 from the file's start
    vad: npt.NDArray[np.float32]  # (frames,) 1 where the live VAD said speech, else 0


def motion_for_file(path: str | Path, *, model_path: Path | None = None, seed: int = 0,
                    config: StreamConfig | None = None, graphs: Path | None = None) -> OfflineMotion:
    """Run `path` through FileSource → AudioFrontend → MotionStreamer and collect the frames
    (in ONNX Runtime with its graphs in `graphs` when given, as the live engine runs it)."""
    model = load_motion_model(model_path)
    source = FileSource(path, realtime=False)
    frontend = AudioFrontend(source.rate)
    streamer = MotionStreamer(model, config or StreamConfig(), seed=seed, graphs=graphs)
    frames: list[MotionFrame] = []
    while (chunk := source.read()) is not None:
        frames += streamer.push(frontend.process(chunk))
    frames += streamer.push(frontend.flush())
    frames += streamer.flush()
    if not frames:
        raise AudioFileError(f"The audio file {str(path)!r} is shorter than one 40 ms motion frame; "
                             "give a longer recording.")
    vectors = np.stack([frame.vector for frame in frames])
    vad = np.array([frame.speech for frame in frames], dtype=np.float32)
    return OfflineMotion(MotionTrack.at_fps(vectors, MOTION_FPS), vad)
