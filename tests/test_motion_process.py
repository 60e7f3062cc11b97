"""The motion path in its own process: the same frames as in the feeding thread, its log
lines in the parent, and one sentence (not a hang) when it cannot start or is killed."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from avatarcam.audio.chunk import AudioChunk
from avatarcam.audio.file_source import FileSource
from avatarcam.motion.space import neutral
from avatarcam.motion.stream import MotionFrame, MotionStreamer, StreamConfig, default_model_path, load_motion_model
from avatarcam.render.backends import open_renderer
from avatarcam.audio.speech_synth import synthesize_espeak
from avatarcam.render.avatar import load_avatar, prepare_avatar
from avatarcam.render.default_portrait import write_default_portrait
from avatarcam.runtime.engine import Engine, EngineOptions
from avatarcam.runtime.motion_path import LocalMotion
from avatarcam.runtime.motion_process import MotionJob, MotionProcess, MotionProcessError
from avatarcam.sinks.sink import open_sinks
from tests.test_render import assert_one_sentence

pytestmark = pytest.mark.skipif(not default_model_path().exists(),
                                reason="the motion model weights (models/motion.pt) are not there")

CONFIG = StreamConfig(sub_steps=4)
WAIT_S = 30.0


class Collected:
    """What a motion path delivered, in order."""

    def __init__(self) -> None:
        self.frames: list[MotionFrame] = []
        self.speech: list[bool] = []
        self.arrived = threading.Condition()

    def __call__(self, frames: Sequence[MotionFrame], speech: bool) -> None:
        with self.arrived:
            self.frames.extend(frames)
            self.speech.append(speech)
            self.arrived.notify_all()

    def wait_for(self, blocks: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.speech) >= blocks, WAIT_S), "the child sent too little"


def _blocks(clip: Path) -> list[AudioChunk]:
    source = FileSource(clip)
    source.start()
    blocks = []
    while (chunk := source.read(timeout=0.0)) is not None:
        blocks.append(chunk)
    source.stop()
    return blocks


def test_the_process_makes_the_frames_the_feeding_thread_makes(real_speech_clips: list[Path]) -> None:
    blocks = _blocks(real_speech_clips[0])[:300]  # 3 s of LJ speech at the clip's own rate
    preset = (neutral(), np.zeros_like(neutral()))
    local, remote = Collected(), Collected()
    path = LocalMotion(MotionStreamer(load_motion_model(), CONFIG, seed=0))
    path.open(local)
    for block in blocks:
        path.feed(block, preset)
    process = MotionProcess(MotionJob(None, CONFIG, 0, None))
    try:
        process.open(remote)
        assert process.name == "torch (own process)"
        for block in blocks:
            process.feed(block, preset)
        remote.wait_for(len(blocks))
    finally:
        process.close()
    assert remote.speech == local.speech and any(local.speech)
    assert len(remote.frames) == len(local.frames) > 50 and any(frame.sub_step for frame in local.frames)
    for theirs, ours in zip(remote.frames, local.frames):
        assert (theirs.time, theirs.speech, theirs.sub_step) == (ours.time, ours.speech, ours.sub_step)
        # torch's thread count differs between the two processes, so sums may round differently
        np.testing.assert_allclose(theirs.vector, ours.vector, atol=1e-5)


def test_a_model_that_cannot_load_is_one_sentence_from_the_child(tmp_path: Path) -> None:
    broken = tmp_path / "motion.pt"
    broken.write_bytes(b"not a checkpoint")
    process = MotionProcess(MotionJob(broken, CONFIG, 0, None))
    with pytest.raises(MotionProcessError) as caught:
        process.wait_ready()
    assert_one_sentence(str(caught.value))
    assert str(broken) in str(caught.value)
    process.close()
    assert not process._process.is_alive()


def test_the_childs_warnings_reach_the_parents_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = tmp_path / "graphs"
    not_a_folder.write_text("a file where the graph cache should be")
    process = MotionProcess(MotionJob(None, CONFIG, 0, not_a_folder))
    try:
        with caplog.at_level(logging.WARNING):
            process.wait_ready()
    finally:
        process.close()
    assert process.name == "torch (own process)"
    assert any("runs in torch" in record.getMessage() and record.levelno == logging.WARNING
               for record in caplog.records)


def test_a_killed_child_stops_the_engine_with_one_sentence(tmp_path: Path) -> None:
    prepare_avatar(write_default_portrait(tmp_path / "astronaut.png"), tmp_path / "avatar", ("512",))
    renderer = open_renderer(load_avatar(tmp_path / "avatar"), "512", tmp_path, ("torch-cpu",))[1]
    speech = synthesize_espeak(tmp_path / "speech.wav", "My mouth moves while the motion model runs elsewhere.")
    process = MotionProcess(MotionJob(None, CONFIG, 0, None))
    process.wait_ready()
    threading.Timer(2.0, os.kill, (process._process.pid, signal.SIGKILL)).start()
    began = time.monotonic()
    try:
        with open_sinks(["null"], 512, 512, 30.0) as sinks:
            engine = Engine(FileSource(speech, realtime=True), process, renderer, sinks, neutral(),
                            EngineOptions(fps=30.0, duration_s=20.0))
            with pytest.raises(MotionProcessError) as caught:
                engine.run()
    finally:
        process.close()
    assert time.monotonic() - began < 10.0  # stopped at the fault, not at the end of the run
    assert "was killed" in str(caught.value)
    assert_one_sentence(str(caught.value))
    assert engine.stats.frame_times, "the avatar ran until the fault"

