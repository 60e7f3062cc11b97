"""A private PulseAudio daemon for tests: the real sound server, with a null sink whose
monitor serves as the microphone.

Tests that capture audio run the capturing code in a subprocess with `env` so that
PortAudio (through ALSA's pulse plugin) talks to this daemon and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NULL_SINK = "avatarcam_test"
MONITOR_SOURCE = f"{NULL_SINK}.monitor"
# An idle null sink renders in blocks of up to 2 s, so its monitor would feed a recorder
# in bursts; a low-latency stream of zeros keeps it ticking like a real microphone.
KEEPALIVE = "exec pacat --playback --latency-msec=10 --raw --rate=48000 --channels=1 --format=s16le < /dev/zero"
SINK_SETTLE_S = 2.5  # time the null sink takes to adopt the keep-alive's latency
START_TIMEOUT_S = 10.0


@dataclass
class PulseServer:
    """A daemon in its own runtime dir: `env` points clients at it."""

    runtime_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    keepalive: subprocess.Popen | None = None

    def pactl(self, *args: str) -> str:
        """Run `pactl ARGS` against this daemon and return its stdout."""
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def play(self, wav: Path, sink: str = NULL_SINK) -> subprocess.Popen:
        """Start playing `wav` into `sink`; returns the player process."""
        return subprocess.Popen(
            ["paplay", f"--device={sink}", str(wav)], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        """Start the daemon with the null sink as default sink and its monitor as default source."""
        cmd = [
            "pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
            "--load=module-native-protocol-unix",
            f"--load=module-null-sink sink_name={NULL_SINK} rate=48000 channels=1",
            "--load=module-always-sink",
            f"--log-target=file:{self.runtime_dir / 'pulse.log'}",
        ]
        started = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
        if started.returncode != 0:
            raise RuntimeError(f"pulseaudio did not start: {started.stderr.strip()}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True, timeout=5).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("pulseaudio started but did not answer within the time limit")
            time.sleep(0.1)
        self.pactl("set-default-sink", NULL_SINK)
        self.pactl("set-default-source", MONITOR_SOURCE)
        self.keepalive = subprocess.Popen(KEEPALIVE, shell=True, env=self.env)
        time.sleep(SINK_SETTLE_S)

    def kill(self) -> None:
        """Stop the daemon abruptly, as a crashed sound server or an unplugged device would."""
        if self.keepalive is not None:
            self.keepalive.kill()
            self.keepalive.wait(timeout=5)
            self.keepalive = None
        subprocess.run(["pulseaudio", "--kill"], env=self.env, capture_output=True, timeout=10)

    def stop(self) -> None:
        """Kill the daemon and remove its runtime directory."""
        self.kill()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def why_pulse_unavailable() -> str | None:
    """None when a PulseAudio daemon can be started here, else the reason it cannot."""
    for tool in ("pulseaudio", "pactl", "paplay", "pacat"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (run install/system-packages.sh)"
    return None


def start_pulse() -> PulseServer:
    """A started private daemon; its clients must use `server.env`."""
    runtime_dir = Path(tempfile.mkdtemp(prefix="avatarcam-pulse-"))
    runtime_dir.chmod(0o700)
    env = dict(os.environ)
    env.update(
        XDG_RUNTIME_DIR=str(runtime_dir),
        PULSE_RUNTIME_PATH=str(runtime_dir / "pulse"),
        PULSE_SERVER=f"unix:{runtime_dir / 'pulse' / 'native'}",
        HOME=str(runtime_dir),  # keeps the cookie and state out of the real home
    )
    env.pop("PULSE_SINK", None)
    env.pop("PULSE_SOURCE", None)
    server = PulseServer(runtime_dir=runtime_dir, env=env)
    try:
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired):
        server.stop()
        raise
    return server
