"""Everything one realtime run needs, opened in order and closed in reverse whatever
happens: avatar and renderer, audio source, motion model, sinks, expression controls
and hotkeys, the delayed virtual microphone; then the engine runs.

`avatarcam run`, `avatarcam demo` and `avatarcam bench e2e` all come through here, so they
exercise the same path.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from avatarcam.audio.capture import MicrophoneSource
from avatarcam.audio.file_source import FileSource
from avatarcam.audio.source import AudioSource
from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.virtual_mic import DelayedPlayback, VirtualMicError, VirtualMicrophone, parse_audio_delay
from avatarcam.control.settings import Settings
from avatarcam.motion.space import neutral
from avatarcam.motion.stream import MotionStreamer, StreamConfig, live_model_path, load_motion_model
from avatarcam.render.avatar import Avatar, load_avatar
from avatarcam.render.backends import BACKENDS, DEFAULT_ORDER, open_renderer
from avatarcam.render.framing import output_size
from avatarcam.runtime.avatar_cache import avatar_for_portrait, cache_root
from avatarcam.runtime.controls import start_controls
from avatarcam.runtime.engine import Engine, EngineOptions
from avatarcam.runtime.run_stats import RunStats
from avatarcam.runtime.tick_phase import ticks_align_with_motion
from avatarcam.sinks.sink import SinkSettings, open_sinks
from avatarcam.sinks.stop_signals import stop_signals_interrupt

log = logging.getLogger(__name__)

# motion frames per 40 ms where ticks cannot follow the 25 fps frames: four cut the
# latency p95 by 7-10 ms against two for about 20 % of a core more (docs/benchmarks.md),
# while the renderer has time to spare (runtime/sub_step_governor.py steps down when not)
OFF_GRID_SUB_STEPS = 4

AUTO_DELAY_START_S = 0.1  # the delayed voice's delay before the latency has been measured


@dataclass(frozen=True)
class RunRequest:
    """What to run, as the command line gives it."""

    portrait: Path | None = None
    avatar_dir: Path | None = None
    mic: str | None = None
    audio_file: Path | None = None
    sinks: tuple[str, ...] = ("virtualcam",)
    fps: float = 30.0
    size: str = "512"
    duration_s: float | None = None
    stop_at_end_s: float | None = None  # a file source: stop this long after it ends
    delay_audio: str | None = None  # None (off), "auto" or milliseconds
    backends: tuple[str, ...] = DEFAULT_ORDER
    seed: int = 0
    model_path: Path | None = None  # None: the shipped weights that suit the voice (live_model_path)
    hotkeys: bool = True
    render_workers: int | None = None  # frames rendered at once; None: what the backend allows
    settings: Settings = field(default_factory=Settings)


def _avatar(request: RunRequest) -> Avatar:
    if request.avatar_dir is not None:
        return load_avatar(request.avatar_dir, (request.size,))
    assert request.portrait is not None
    return avatar_for_portrait(request.portrait)


def _source(request: RunRequest) -> AudioSource:
    if request.audio_file is not None:
        return FileSource(request.audio_file, realtime=True)
    audio = request.settings.audio
    return MicrophoneSource(device=request.mic if request.mic is not None else audio.device,
                            rate=audio.rate)


class DelayedVoice:
    """The input, delayed, in the "AvatarCam Mic" source: the playback stream opens at the
    rate of the first real audio (a microphone's rate is known only once it is open)."""

    def __init__(self, microphone: VirtualMicrophone, delay_s: float, follow_latency: bool) -> None:
        self.microphone, self.delay_s, self.follow_latency = microphone, delay_s, follow_latency
        self.playback: DelayedPlayback | None = None
        self.failed = False

    def push(self, chunk: AudioChunk) -> None:
        """Play one captured block, delayed (once the stream cannot open: said once, then off)."""
        if self.failed:
            return
        if self.playback is None:
            try:
                self.playback = self.microphone.play_delayed(chunk.rate, self.delay_s)
            except VirtualMicError as err:
                log.warning("%s", err)
                self.failed = True
                return
        if chunk.rate == self.playback.rate:
            self.playback.push(chunk)

    def follow(self, latency_s: float) -> None:
        """With `--delay-audio auto`: aim at the measured latency."""
        self.delay_s = latency_s
        if self.playback is not None:
            self.playback.set_delay(latency_s)

    def close(self) -> None:
        """Stop playing (the virtual microphone itself is closed by its owner)."""
        if self.playback is not None:
            self.playback.close()


def _delayed_voice(request: RunRequest, stack: ExitStack) -> DelayedVoice | None:
    """The delayed voice, or None (off, or no sound server: said once, the rest runs)."""
    if request.delay_audio is None:
        return None
    fixed_s = parse_audio_delay(request.delay_audio)
    auto = fixed_s is None
    delay_s = AUTO_DELAY_START_S if fixed_s is None else fixed_s
    try:
        microphone = stack.enter_context(VirtualMicrophone())
    except VirtualMicError as err:
        log.warning("%s", err)
        return None
    voice = DelayedVoice(microphone, delay_s, auto)
    stack.callback(voice.close)
    return voice


def stream_config(fps: float) -> StreamConfig:
    """The motion stream's settings for output at `fps`: sub-step frames where the ticks
    cannot each sit just after a 25 fps frame, so the newest motion is younger at a tick."""
    return StreamConfig(sub_steps=1 if ticks_align_with_motion(fps) else OFF_GRID_SUB_STEPS)


def render_workers(request: RunRequest, backend: str) -> int:
    """How many frames the engine may render at once with `backend`: as asked, else as many
    as the backend allows and this machine has cores for."""
    if request.render_workers is not None:
        return request.render_workers
    return min(BACKENDS[backend].overlap, os.cpu_count() or 1)


def run_session(request: RunRequest) -> RunStats:
    """Open everything `request` names, run the engine, close everything; the figures."""
    size = output_size(request.size)
    with ExitStack() as stack, stop_signals_interrupt():
        avatar = _avatar(request)
        graphs = cache_root() / "graphs"
        backend, renderer = open_renderer(avatar, size.name, graphs, request.backends)
        voice = _delayed_voice(request, stack)
        config = stream_config(request.fps)
        model = load_motion_model(request.model_path or live_model_path(voice_delayed=voice is not None))
        streamer = MotionStreamer(model, config, seed=request.seed, graphs=graphs)
        workers = render_workers(request, backend)
        log.info("Rendering with %s at %dx%d, %g fps, %d frame(s) at once; the motion model (%s) runs in %s.",
                 backend, size.width, size.height, request.fps, workers, model.path.name, streamer.runner.name)
        source = _source(request)
        sinks = stack.enter_context(open_sinks(request.sinks, size.width, size.height, request.fps,
                                               SinkSettings()))
        controls = start_controls(request.settings, stack, enable_hotkeys=request.hotkeys)
        options = EngineOptions(fps=request.fps, duration_s=request.duration_s,
                                stop_when_source_ends=request.stop_at_end_s is not None,
                                tail_s=request.stop_at_end_s or 0.0,
                                render_workers=workers, sub_steps=config.sub_steps)
        engine = Engine(source, streamer, renderer, sinks, neutral(), options, controls,
                        audio_taps=[voice.push] if voice else [],
                        latency_listener=voice.follow if voice and voice.follow_latency else None)
        try:
            stats = engine.run()
        except KeyboardInterrupt:
            log.info("Stopping: closing the outputs.")
            stats = engine.stats
        stats.motion_weights = model.path.name
        return stats
