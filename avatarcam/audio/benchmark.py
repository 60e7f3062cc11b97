"""`avatarcam bench audio`: what the audio front end costs and how fast the VAD decides.

Cost is the CPU time of `AudioFrontend.process` per 10 ms capture block of speech at a
microphone's usual 48 kHz (resampling, VAD and log-mel), plus the ring buffer's write in
the audio callback. Decision delay is, per speech onset, the time from the onset (the
start of the back-dated segment) to the end of the block after which the live state said
speech.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.frontend import AudioFrontend
from avatarcam.audio.resample import resample_whole
from avatarcam.audio.ring import AudioRing
from avatarcam.audio.speech_synth import synthesize_espeak
from avatarcam.audio.vad import VadConfig
from avatarcam.constants import CAPTURE_BLOCK_MS
from avatarcam.plotting import pyplot
from avatarcam.runtime.timing import percentile_summary

MIC_RATE = 48_000  # the rate most microphones deliver by default
SILENCE_PAD_S = 1.0  # silence around the speech so every onset is measurable
ROOM_NOISE_DBFS = -65.0  # level of the quiet noise in the padding, as a real room has


@dataclass(frozen=True)
class AudioBenchSamples:
    """The raw measurements behind an `AudioBenchResult`, for plots."""

    frontend_us: np.ndarray  # cost of each 10 ms block
    decision_delays_ms: np.ndarray  # one per speech onset


@dataclass(frozen=True)
class AudioBenchResult:
    """Figures printed by `avatarcam bench audio`."""

    audio_seconds: float
    blocks: int
    frontend_us_per_10ms: dict[str, float]
    ring_write_us_per_10ms: dict[str, float]
    core_fraction: float  # mean cost / 10 ms: the share of one core used in real time
    vad_decision_delay_ms: dict[str, float]
    vad_onsets: int
    vad_config_delay_ms: int


def _bench_signal(audio: Path | None, repeats: int) -> np.ndarray:
    """Speech at 48 kHz with padding of quiet noise, repeated `repeats` times."""
    if audio is None:
        with tempfile.TemporaryDirectory() as tmp:
            decoded = decode_audio_file(synthesize_espeak(Path(tmp) / "bench.wav"))
    else:
        decoded = decode_audio_file(audio)
    speech = resample_whole(decoded.samples, decoded.rate, MIC_RATE)
    rng = np.random.default_rng(0)
    pad = (rng.standard_normal(int(SILENCE_PAD_S * MIC_RATE)) * 10 ** (ROOM_NOISE_DBFS / 20)).astype(np.float32)
    return np.tile(np.concatenate((pad, speech, pad)), repeats)


def run_audio_bench(
    audio: Path | None = None, repeats: int = 5, config: VadConfig | None = None
) -> tuple[AudioBenchResult, AudioBenchSamples]:
    """Measure the front end over `repeats` copies of the speech signal in 10 ms blocks."""
    config = config or VadConfig()
    signal = _bench_signal(audio, repeats)
    block = MIC_RATE * CAPTURE_BLOCK_MS // 1000
    frontend = AudioFrontend(MIC_RATE, config)
    ring = AudioRing(MIC_RATE, MIC_RATE, max_block=block)
    costs, ring_costs, decisions = [], [], []
    was_speech = False
    for index in range(len(signal) // block):
        samples = signal[index * block : (index + 1) * block]
        t0 = time.perf_counter()
        ring.write(samples, index * block / MIC_RATE)
        t1 = time.perf_counter()
        chunk = ring.read(block)
        assert chunk is not None
        t2 = time.perf_counter()
        step = frontend.process(chunk)
        t3 = time.perf_counter()
        ring_costs.append(t1 - t0)
        costs.append(t3 - t2)
        if step.speech and not was_speech:
            decisions.append(chunk.end_time)
        was_speech = step.speech
    frontend.flush()
    onsets = [start for start, _ in frontend.segments]
    delays = [decided - onset for decided, onset in zip(decisions, onsets)]
    frontend_us = percentile_summary(costs, 1e6)
    result = AudioBenchResult(
        audio_seconds=round(len(signal) / MIC_RATE, 2),
        blocks=len(costs),
        frontend_us_per_10ms=frontend_us,
        ring_write_us_per_10ms=percentile_summary(ring_costs, 1e6),
        core_fraction=round(frontend_us["mean"] / (CAPTURE_BLOCK_MS * 1000), 4),
        vad_decision_delay_ms=percentile_summary(delays, 1e3),
        vad_onsets=len(delays),
        vad_config_delay_ms=config.decision_delay_ms,
    )
    return result, AudioBenchSamples(np.array(costs) * 1e6, np.array(delays) * 1e3)


def plot_audio_bench(samples: AudioBenchSamples, out: Path) -> Path:
    """Write a PNG with the distribution of block cost and of VAD decision delay."""
    plt = pyplot()

    fig, (cost_ax, delay_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    budget_us = CAPTURE_BLOCK_MS * 1000
    cost_ax.hist(samples.frontend_us, bins=np.logspace(0, np.log10(max(samples.frontend_us.max(), 10)), 50))
    cost_ax.set_xscale("log")
    cost_ax.axvline(0.02 * budget_us, color="tab:red", linestyle="--", label="2 % of one core")
    cost_ax.set_xlabel("front-end cost per 10 ms block (µs)")
    cost_ax.set_ylabel("blocks")
    cost_ax.legend()
    delay_ax.hist(samples.decision_delays_ms, bins=np.arange(0, 320, 20), color="tab:green")
    delay_ax.set_xlabel("VAD decision delay after speech onset (ms)")
    delay_ax.set_ylabel("onsets")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def format_audio_bench(result: AudioBenchResult) -> str:
    """Human-readable table of an audio benchmark."""
    fe, ring, vad = result.frontend_us_per_10ms, result.ring_write_us_per_10ms, result.vad_decision_delay_ms
    return "\n".join([
        f"audio front end over {result.audio_seconds} s of speech and pauses ({result.blocks} blocks of 10 ms at {MIC_RATE} Hz)",
        f"  front end (resample+VAD+log-mel)  p50 {fe['p50']:8.1f} µs  p95 {fe['p95']:8.1f} µs  per 10 ms",
        f"  ring write (audio callback)       p50 {ring['p50']:8.1f} µs  p95 {ring['p95']:8.1f} µs  per 10 ms",
        f"  share of one core in real time    {100 * result.core_fraction:.2f} % (mean; target < 2 %)",
        f"  VAD decision delay ({result.vad_onsets} onsets)     p50 {vad['p50']:6.1f} ms  max {vad['max']:6.1f} ms"
        f"  (attack setting {result.vad_config_delay_ms} ms)",
    ])
