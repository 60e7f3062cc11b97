"""`avatarcam bench e2e`: the whole loop from a file played at real-time pace into the
null sink, measured as a user would feel it: latency from audio capture to frame hand-off,
frame rate, drops after warm-up, first-frame delays, CPU and memory over time, and on Linux
how much CPU time the hypervisor took from this machine meanwhile (on a shared VM that
"steal" is what turns a frame that fits its 33 ms into a dropped one). A watcher process
notes when the whole machine stalled, so each drop can be told apart as the loop's own or
the machine's."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile

from avatarcam.audio.decode import decode_audio_file
from avatarcam.audio.speech_synth import synthesize_espeak
from avatarcam.plotting import pyplot
from avatarcam.render.default_portrait import write_default_portrait
from avatarcam.runtime.machine_watch import (
    LATE_S,
    SLOW_FACTOR,
    STOLEN_SHARE,
    MachineLoad,
    MachineWatcher,
    cpu_ticks,
    steal_percent,
    summarize_load,
)
from avatarcam.runtime.run_stats import RunStats
from avatarcam.runtime.session import RunRequest, run_session

WARMUP_S = 5.0  # left out of latency, fps and drops: model and renderer caches warming up
PAUSE_S = 1.5  # silence between utterances, so idle ↔ talking switches are measured too
TIMELINE_TOP_MS = 100.0  # the timeline's scale: a rare stall of hundreds of ms would flatten the rest
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


def run_e2e_bench(seconds: float, size: str, fps: float, backends: tuple[str, ...],
                  audio: Path | None = None, model: Path | None = None, render_workers: int | None = None
                  ) -> tuple[dict[str, object], RunStats, MachineLoad]:
    """Run the loop for about `seconds` (motion weights `model`, default those `run` takes
    with the voice heard live; `render_workers` frames at once, default the backend's) and
    return the summary, the raw stats and what the machine watcher saw."""
    with tempfile.TemporaryDirectory(prefix="avatarcam-e2e-") as tmp:
        folder = Path(tmp)
        track = audio or speech_track(seconds, folder)
        request = RunRequest(portrait=write_default_portrait(folder / "portrait.png"), audio_file=track,
                             sinks=("null",), fps=fps, size=size, duration_s=seconds,
                             backends=backends, hotkeys=False, model_path=model,
                             render_workers=render_workers)
        with MachineWatcher() as watcher:
            before = cpu_ticks()
            stats = run_session(request)
            stolen = steal_percent(before, cpu_ticks())
    summary = stats.summary(skip_s=WARMUP_S)
    machine = summarize_load(watcher.load, stats.drop_times, stats.started + WARMUP_S, stats.started + seconds)
    summary.update({"seconds": seconds, "size": size, "target_fps": fps, "steal_percent": stolen,
                    "machine_load": asdict(machine), "probe_ms": watcher.load.probe_ms})
    return summary, stats, watcher.load


def format_e2e(summary: dict[str, object]) -> str:
    """The summary as a few readable lines."""
    latency, motion, render = summary["latency_ms"], summary["motion_ready_ms"], summary["render_ms"]
    machine, shares = summary["machine_load"], summary["sub_steps_time_share"]
    assert isinstance(latency, dict) and isinstance(motion, dict) and isinstance(render, dict)
    assert isinstance(machine, dict) and isinstance(shares, dict)
    return "\n".join([
        f"end to end, {summary['seconds']:.0f} s at {summary['size']} / {summary['target_fps']:g} fps "
        f"(first {WARMUP_S:g} s left out as warm-up)",
        f"latency capture→sink  p50 {latency['p50']} ms  p95 {latency['p95']} ms  max {latency['max']} ms",
        f"  of it, motion ready after the instant it shows  p50 {motion['p50']} ms  p95 {motion['p95']} ms  "
        f"max {motion['max']} ms (the model's audio past that instant, capture block, front end and model)",
        f"  of it, rendering  p50 {render['p50']} ms  p95 {render['p95']} ms  max {render['max']} ms per frame",
        f"motion weights {summary['motion_weights']}",
        f"output {summary['fps']} fps, {summary['frames']} frames, {summary['drops']} dropped "
        f"({summary['drops_after_warmup']} after warm-up), {summary['held']} held",
        "motion frames made per 40 ms, by share of the time after warm-up: "
        + ", ".join(f"{count} for {100 * share:.0f} %" for count, share in shares.items()),
        f"first frame {summary['first_frame_ms']} ms after start, "
        f"first speech frame {summary['first_speech_frame_ms']} ms after that speech was captured",
        f"CPU {summary['cpu_percent']} % (of one core), RSS {summary['rss_mb']} MB, marks {summary['memory_mb']}",
        "CPU time taken by the hypervisor meanwhile (steal): "
        + ("not known here" if summary["steal_percent"] is None else f"{summary['steal_percent']} %"),
        f"after warm-up the machine stalled a watcher process {machine['stalls']} times by {1000 * LATE_S:g} ms "
        f"or more (longest {machine['longest_stall_ms']} ms, {machine['stalled_ms']} ms in all); "
        f"{machine['drops_after_stalls']} of the {summary['drops_after_warmup']} drops came during or just after one, "
        f"{machine['drops_in_steal']} more in a half second when {STOLEN_SHARE:g} % or more of the CPU time was stolen",
        f"it ran a fixed piece of work {SLOW_FACTOR:g} times slower than usual or worse in {machine['slowdowns']} spans "
        f"(usually {summary['probe_ms']} ms of CPU); {machine['drops_in_slowdowns']} more drops came during or just "
        f"after one, where {machine['slowed_percent']} % of the time after warm-up lies",
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


def plot_timeline(stats: RunStats, load: MachineLoad, path: Path) -> None:
    """A PNG of the run over time: render time per frame, each dropped tick, the share of
    CPU time the hypervisor stole, the spans when the machine stalled or ran slowly, and the
    motion frames made per 40 ms, so a drop can be seen to follow a slow render, a stall, a
    slowdown or a stretch of steal."""
    plt = pyplot()

    renders = stats.render_times.as_array()
    steal = np.asarray(load.steal, np.float64).reshape(-1, 2)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for start, end in load.stalls:
        ax.axvspan(start - stats.started, end - stats.started, color="#f0b27a", alpha=0.8, lw=0)
    for start, end in load.slowdowns:
        ax.axvspan(start - stats.started, end - stats.started, color="#9bd3ae", alpha=0.8, lw=0)
    render_ms = renders[:, 1] * 1000.0
    clipped = int((render_ms > TIMELINE_TOP_MS).sum())
    ax.plot(renders[:, 0] - stats.started, np.minimum(render_ms, TIMELINE_TOP_MS), lw=0.6, color="#4a7bb7",
            label="render ms" + (f" ({clipped} above {TIMELINE_TOP_MS:g} drawn at it)" if clipped else ""))
    drops = np.asarray(stats.drop_times) - stats.started
    ax.plot(drops, np.zeros_like(drops), "|", color="#c0392b", ms=12, label=f"dropped tick ({len(drops)})")
    ax.axvline(WARMUP_S, color="k", lw=0.6, linestyle=":", label="end of warm-up")
    ax.fill_between([], [], color="#f0b27a", label=f"machine stalled ≥ {1000 * LATE_S:g} ms ({len(load.stalls)})")
    ax.fill_between([], [], color="#9bd3ae", label=f"machine slowed ≥ {SLOW_FACTOR:g}× ({len(load.slowdowns)})")
    ax.step(steal[:, 0] - stats.started, steal[:, 1], where="pre", color="#7d3c98", lw=1.0,
            label="CPU time stolen, % (per 0.5 s)")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("ms, or %")
    ax.set_ylim(-5, TIMELINE_TOP_MS * 1.05)
    counts = stats.sub_steps.as_array()
    right = ax.twinx()
    right.step(np.append(counts[:, 0], renders[-1, 0] if len(renders) else counts[-1, 0]) - stats.started,
               np.append(counts[:, 1], counts[-1, 1]), where="post", color="#e67e22", lw=1.2)
    right.set_ylabel("motion frames per 40 ms", color="#e67e22")
    right.set_ylim(0, 4.5)
    right.set_yticks([1, 2, 4])
    ax.plot([], [], color="#e67e22", label="motion frames per 40 ms (right)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
