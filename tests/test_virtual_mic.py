"""The "AvatarCam Mic" on a real PulseAudio daemon: it appears and goes again, replaces a
leftover from a crashed run, and plays a click captured at T out of its source at T + delay."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from avatarcam.audio.file_source import FileSource
from avatarcam.audio.virtual_mic import (
    MIC_DESCRIPTION,
    MIC_SINK_NAME,
    MIC_SOURCE_NAME,
    VirtualMicError,
    VirtualMicrophone,
    parse_audio_delay,
)
from tests.pulse import PulseServer

pytestmark = pytest.mark.timeout(120)

RATE = 48_000
RECORD_LATENCY_MS = 5  # parec's fragment: a sample reaches the recorder at most about this late
TOLERANCE_S = 0.020  # the steady offset (median over the clicks) asked for
# Single clicks: on a 2-core VM the server's latency readings jump now and then and the
# playback re-aims after them; clicks were seen up to 26 ms off while the median held.
CLICK_TOLERANCE_S = 0.040
ATTEMPTS = 3
# 10 ms: the playback re-aims by jumping a few ms when the server's latency moves, which
# could skip a click of a few samples whole; a voice loses only those milliseconds.
CLICK_SAMPLES = RATE // 100
FIT_SPAN_S = 0.25  # recorded blocks this close to a click fix the recording's clock there


@pytest.fixture
def pulse_env(pulse: PulseServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """Point this process (pactl and libpulse) at the test daemon; afterwards check that
    the test left no AvatarCam Mic behind."""
    for key in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER", "HOME"):
        monkeypatch.setenv(key, pulse.env[key])
    monkeypatch.delenv("PULSE_SINK", raising=False)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    yield pulse
    assert MIC_SOURCE_NAME not in _sources(pulse)


def test_audio_delay_option_parses() -> None:
    assert parse_audio_delay("auto") is None
    assert parse_audio_delay("120") == pytest.approx(0.12)
    for bad, words in (("soon", "neither auto nor a number"), ("-5", "out of range"), ("nan", "out of range")):
        with pytest.raises(VirtualMicError, match=words):
            parse_audio_delay(bad)


def _sources(pulse: PulseServer) -> dict[str, str]:
    """Source name -> description."""
    names, descriptions = [], []
    for line in pulse.pactl("list", "sources").splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Name":
            names.append(value)
        elif key == "Description":
            descriptions.append(value)
    return dict(zip(names, descriptions))


def _defaults(pulse: PulseServer) -> list[str]:
    return [line for line in pulse.pactl("info").splitlines() if line.startswith("Default S")]


def test_mic_appears_as_a_source_and_is_gone_after_close(pulse_env: PulseServer) -> None:
    before = _defaults(pulse_env)
    with VirtualMicrophone() as mic:
        sources = _sources(pulse_env)
        assert sources.get(MIC_SOURCE_NAME) == MIC_DESCRIPTION == "AvatarCam Mic"
        assert f"{mic.sink_name}.monitor" in sources
        assert _defaults(pulse_env) == before, "the user's default devices must not change"
    sources = _sources(pulse_env)
    assert MIC_SOURCE_NAME not in sources and f"{MIC_SINK_NAME}.monitor" not in sources
    assert "AvatarCam Mic" not in sources.values()
    assert _defaults(pulse_env) == before


def test_leftover_mic_from_a_crashed_run_is_replaced(pulse_env: PulseServer, caplog: pytest.LogCaptureFixture) -> None:
    leftover = [
        pulse_env.pactl("load-module", "module-null-sink", f"sink_name={MIC_SINK_NAME}").strip(),
        pulse_env.pactl("load-module", "module-remap-source", f"master={MIC_SINK_NAME}.monitor",
                        f"source_name={MIC_SOURCE_NAME}").strip(),
    ]
    with caplog.at_level(logging.INFO), VirtualMicrophone():
        modules = [line.split("\t")[0] for line in pulse_env.pactl("list", "modules", "short").splitlines()]
        assert not set(leftover) & set(modules)
        assert list(_sources(pulse_env).values()).count("AvatarCam Mic") == 1
    assert "left over from an earlier run" in caplog.text
    assert MIC_SOURCE_NAME not in _sources(pulse_env)


def test_no_sound_server_is_one_sentence(pulse_env: PulseServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/native")
    with pytest.raises(VirtualMicError) as caught:
        VirtualMicrophone().open()
    message = str(caught.value)
    assert message.startswith("The virtual microphone cannot be set up (`pactl info`")
    assert "start PulseAudio or PipeWire" in message and message.endswith(".") and "\n" not in message


def test_delay_out_of_range_is_refused(pulse_env: PulseServer) -> None:
    with VirtualMicrophone() as mic, pytest.raises(VirtualMicError, match=r"choose 0 to 2000 ms \(or auto\)\.$"):
        mic.play_delayed(RATE, 2.5)


class SourceRecorder:
    """`parec` on one source in small fragments, noting when each fragment arrived, so the
    time at which any recorded sample came out of the source can be bounded from above."""

    def __init__(self, pulse: PulseServer, source: str) -> None:
        self._process = subprocess.Popen(
            ["parec", f"--device={source}", "--raw", "--format=float32le", f"--rate={RATE}", "--channels=1",
             f"--latency-msec={RECORD_LATENCY_MS}"], env=pulse.env, stdout=subprocess.PIPE)
        self._blocks: list[bytes] = []
        self._arrivals: list[tuple[float, int]] = []  # (monotonic time, samples received so far)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        received = 0
        while block := self._process.stdout.read1(65536):
            received += len(block) // 4
            self._arrivals.append((time.monotonic(), received))
            self._blocks.append(block)

    def _stop(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples, fragment arrival times, and the sample count at each arrival."""
        self._process.terminate()
        self._process.wait(timeout=10)
        self._thread.join(timeout=10)
        data = b"".join(self._blocks)
        samples = np.frombuffer(data[: len(data) // 4 * 4], np.float32)
        times, ends = (np.array(column) for column in zip(*self._arrivals))
        return samples, times, ends

    def stop_and_find_clicks(self, threshold: float) -> list[float]:
        """Stop, then say when each click's first sample came out of the source: per click, the recording's
        clock is fitted to the earliest-arriving fragments around it (a sample cannot arrive
        before it exists, so each fragment bounds that clock from above)."""
        samples, times, ends = self._stop()
        loud = np.flatnonzero(np.abs(samples) > threshold)
        onsets = loud[np.concatenate([[True], np.diff(loud) > RATE // 10])] if len(loud) else loud
        result = []
        for onset in onsets:
            near = np.abs(ends - onset) < FIT_SPAN_S * RATE
            base = np.min(times[near] - ends[near] / RATE)
            result.append(float(base + onset / RATE))
        return result


def _click_track(path: Path, seconds: float, click_times: list[float]) -> None:
    samples = np.zeros(round(seconds * RATE), np.float32)
    for when in click_times:
        start = round(when * RATE)
        samples[start:start + CLICK_SAMPLES] = 0.8
    soundfile.write(path, samples, RATE, subtype="FLOAT")


def _click_offsets(pulse_env: PulseServer, wav: Path, clicks: list[float], start_ms: int,
                   delay_ms: int) -> tuple[list[float], str]:
    """Play the click track through delayed playback; each click's offset (ms) from its
    capture time to its recording, or a reason why this attempt cannot be scored."""
    with VirtualMicrophone() as mic:
        recorder = SourceRecorder(pulse_env, mic.source_name)
        time.sleep(0.3)
        with mic.play_delayed(RATE, start_ms / 1000) as playback:
            playback.set_delay(5.0)
            assert playback.delay_s == 2.0, "a measured delay beyond the range is clamped"
            playback.set_delay(delay_ms / 1000)
            source = FileSource(wav, realtime=True)
            chunk = source.read()
            assert chunk is not None
            t0 = chunk.start_time  # capture time of the file's first sample
            while chunk is not None:
                playback.push(chunk)
                chunk = source.read()
            time.sleep(delay_ms / 1000 + 0.2)
            assert playback.error is None
        heard = recorder.stop_and_find_clicks(threshold=0.4)
    offsets = [1000 * (out - (t0 + click)) for out, click in zip(heard, clicks)]
    summary = (f"delay {delay_ms} ms (started at {start_ms} ms): heard {len(heard)} of {len(clicks)} clicks, "
               f"offsets {', '.join(f'{o:.1f}' for o in offsets)} ms, resyncs {playback.resyncs}, "
               f"late samples {playback.late_samples}")
    # Late samples (pushed after their moment to play, when this busy VM stalls the pusher)
    # are printed, not scored: a click they cut short shows as a missing click or an offset.
    return (offsets if len(heard) == len(clicks) else []), summary


@pytest.mark.parametrize(("start_ms", "delay_ms"), [(60, 60), (150, 150), (60, 150)])
def test_click_comes_out_of_the_mic_after_the_delay(pulse_env: PulseServer, tmp_path: Path,
                                                    start_ms: int, delay_ms: int) -> None:
    """Clicks captured at T (file replayed at capture pace, as a microphone would deliver
    them) are recorded from the "AvatarCam Mic" source at T + delay, within ±20 ms (median;
    each click within ±40 ms); a delay changed after the start (as `--delay-audio auto`
    does) is followed. On this 2-core VM the sound server now and then loses a click or
    plays a burst late, so up to ATTEMPTS runs are made and every one is printed; one
    clean run passes."""
    clicks = [0.5 + 0.4 * index for index in range(7)]
    wav = tmp_path / "clicks.wav"
    _click_track(wav, 3.5, clicks)
    summaries = []
    for _ in range(ATTEMPTS):
        offsets, summary = _click_offsets(pulse_env, wav, clicks, start_ms, delay_ms)
        summaries.append(summary)
        print(summary)
        if (offsets and abs(np.median(offsets) - delay_ms) <= TOLERANCE_S * 1000
                and all(abs(o - delay_ms) <= CLICK_TOLERANCE_S * 1000 for o in offsets)):
            return
    pytest.fail("no attempt held the delay: " + " | ".join(summaries))


def test_a_delay_too_short_for_the_audio_is_reported(pulse_env: PulseServer, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    wav = tmp_path / "clicks.wav"
    _click_track(wav, 1.0, [0.5])
    with caplog.at_level(logging.WARNING), VirtualMicrophone() as mic, mic.play_delayed(RATE, 0.0) as playback:
        source = FileSource(wav, realtime=True)
        while (chunk := source.read()) is not None:
            playback.push(chunk)
    assert playback.late_samples > 0
    assert "too late for a delay of 0 ms; raise --delay-audio" in caplog.text

