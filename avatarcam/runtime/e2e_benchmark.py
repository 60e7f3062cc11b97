"""`avatarcam bench e2e`: the whole loop from a file played at real-time pace into the
null sink, measured as a user would feel it: latency from audio capture to frame hand-off,
frame rate, drops after warm-up, first-frame delays, CPU and memory over time, and on Linux
how much CPU time the hypervisor took from this machine meanwhile (on a shared VM that
"steal" is what turns a frame that fits its 33 ms into a dropped one)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.speech_synth import synthesize_espeak
from avatarcam.plotting import pyplot
from avatarcam.render.default_portrait import write_default_portrait
from avatarcam.runtime.run_stats import RunStats
from avatarcam.runtime.session import RunRequest, run_session

WARMUP_S = 5.0  # left out of latency, fps and drops: model and renderer caches warming up
PAUSE_S = 1.5  # silence between utterances, so idle ↔ talking switches are measured too
PROC_STAT = Path("/proc/stat")
STEAL_COLUMN = 7  # counting from 0 after "cpu": user nice system idle iowait irq softirq steal guest …
UTTERANCES = (
    "Good morning everyone, thanks for joining the call today.",
    "I wanted to walk you through the numbers from last quarter before we decide anything.",
    "Sales went up in the north, but the south was flat, and the costs grew faster than we hoped.",
    "Maybe we should pause the new shop and put that money into the web store instead.",
    "What do you think? Please be honest, I would rather hear it now than in six months.",
    "Let me share my screen, and then we can go through the plan step by step.",
)


def speech_track(seconds: float, folder: Path) -> Path:
    """A WAV of espeak-ng utterances with pauses between them, at least `seconds` long."""
    pieces, total, rate = [], 0.0, 16_000
    index = 0
    while total < seconds:
        wav = synthesize_espeak(folder / f"utterance_{index}.wav", UTTERANCES[index % len(UTTERANCES)])
        decoded = decode_audio_file(wav)
        rate = decoded.rate
        pieces += [decoded.samples, np.zeros(int(PAUSE_S * rate), np.float32)]
        total += len(decoded.samples) / rate + PAUSE_S
        index += 1
    path = folder / "e2e_speech.wav"
    soundfile.write(str(path), np.concatenate(pieces), rate)
    return path


def cpu_ticks() -> np.ndarray | None:
    """The machine's cumulative CPU time per /proc/stat column (None where there is none)."""
    try:
        first = PROC_STAT.read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError):
        return None
    return np.array([int(value) for value in first[1:]], dtype=np.int64)


def steal_percent(before: np.ndarray | None, after: np.ndarray | None) -> float | None:
    """Share of all CPU time between two `cpu_ticks` readings that the hypervisor stole."""
    if before is None or after is None or len(before) <= STEAL_COLUMN:
        return None
    spent = after - before
    total = int(spent[: STEAL_COLUMN + 1].sum())  # guest time is already inside user time
    return round(100.0 * int(spent[STEAL_COLUMN]) / total, 1) if total > 0 else None


def run_e2e_bench(seconds: float, size: str, fps: float, backends: tuple[str, ...],
                  audio: Path | None = None, model: Path | None = None) -> tuple[dict[str, object], RunStats]:
    """Run the loop for about `seconds` (motion weights `model`, default the shipped ones)
    and return the summary and the raw stats."""
    with tempfile.TemporaryDirectory(prefix="avatarcam-e2e-") as tmp:
        folder = Path(tmp)
        track = audio or speech_track(seconds, folder)
        request = RunRequest(portrait=write_default_portrait(folder / "portrait.png"), audio_file=track,
                             sinks=("null",), fps=fps, size=size, duration_s=seconds,
                             backends=backends, hotkeys=False, model_path=model)
        before = cpu_ticks()
        stats = run_session(request)
        stolen = steal_percent(before, cpu_ticks())
    summary = stats.summary(skip_s=WARMUP_S)
    summary.update({"seconds": seconds, "size": size, "target_fps": fps, "steal_percent": stolen})
    return summary, stats


def format_e2e(summary: dict[str, object]) -> str:
    """The summary as a few readable lines."""
    latency, motion, render = summary["latency_ms"], summary["motion_ready_ms"], summary["render_ms"]
    assert isinstance(latency, dict) and isinstance(motion, dict) and isinstance(render, dict)
    return "\n".join([
        f"end to end, {summary['seconds']:.0f} s at {summary['size']} / {summary['target_fps']:g} fps "
        f"(first {WARMUP_S:g} s left out as warm-up)",
        f"latency capture→sink  p50 {latency['p50']} ms  p95 {latency['p95']} ms  max {latency['max']} ms",
        f"  of it, motion ready after the instant it shows  p50 {motion['p50']} ms  p95 {motion['p95']} ms  "
        f"max {motion['max']} ms (the model's audio past that instant, capture block, front end and model)",
        f"  of it, rendering  p50 {render['p50']} ms  p95 {render['p95']} ms  max {render['max']} ms per frame",
        f"output {summary['fps']} fps, {summary['frames']} frames, {summary['drops']} dropped "
        f"({summary['drops_after_warmup']} after warm-up), {summary['held']} held",
        f"first frame {summary['first_frame_ms']} ms after start, "
        f"first speech frame {summary['first_speech_frame_ms']} ms after that speech was captured",
        f"CPU {summary['cpu_percent']} % (of one core), RSS {summary['rss_mb']} MB, marks {summary['memory_mb']}",
        "CPU time taken by the hypervisor meanwhile (steal): "
        + ("not known here" if summary["steal_percent"] is None else f"{summary['steal_percent']} %"),
    ])


def plot_latency(stats: RunStats, path: Path) -> None:
    """A histogram (PNG) of the per-frame latency after warm-up."""
    plt = pyplot()

    times = np.asarray(stats.frame_times)
    latency = np.asarray(stats.latencies_s)[times >= stats.started + WARMUP_S] * 1000.0
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(latency, bins=40, color="#4a7bb7")
    for q, style in ((50, "-"), (95, "--")):
        ax.axvline(np.percentile(latency, q), color="k", linestyle=style, label=f"p{q} {np.percentile(latency, q):.0f} ms")
    ax.axvline(90, color="#c0392b", label="target p95 90 ms")
    ax.set_xlabel("audio capture → frame handed to sinks (ms)")
    ax.set_ylabel("frames")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
