"""Listens for the default global hotkeys in a child process (pynput picks its X display
when imported, so the test's private Xvfb display must be set before that) and prints,
for each action, the monotonic time it arrived and the controls' weight curve after it;
once stdin closes, how long stopping the listener took.

Usage: DISPLAY=:N python -m tests.hotkey_probe   (prints "ready" once listening)
"""

from __future__ import annotations

import sys
import time

from avatarcam.control.hotkeys import HotkeyListener
from avatarcam.control.preset_control import PresetController
from avatarcam.control.presets import load_presets
from avatarcam.control.settings import Settings
from avatarcam.motion.space import index_of

SAMPLE_EVERY_S = 0.04  # one motion frame
SAMPLES = 12


def main() -> int:
    """Listen until stdin closes."""
    settings = Settings()
    controller = PresetController(load_presets(settings.presets.file))

    def act(action: str) -> None:
        arrived = time.monotonic()
        controller.perform(action, arrived)
        smile = index_of("smile")
        curve = []
        for k in range(SAMPLES):
            state = controller.state(arrived + k * SAMPLE_EVERY_S)
            curve.append(f"{state.weight[smile]:.4f}")
        print(f"{action} {arrived:.6f} {','.join(curve)}", flush=True)

    listener = HotkeyListener(settings.hotkeys.bindings, act)
    listener.start()
    print("ready", flush=True)
    sys.stdin.read()
    asked = time.monotonic()
    listener.stop()
    print(f"stopped {time.monotonic() - asked:.6f} {listener.running}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
