"""Expression presets and global hotkeys wired for one run: the controller the engine
reads, fed by the hotkey listener when global hotkeys can run here."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack

from avatarcam.control.hotkeys import HotkeyListener, HotkeysUnavailable
from avatarcam.control.preset_control import PresetController
from avatarcam.control.presets import load_presets
from avatarcam.control.settings import Settings

log = logging.getLogger(__name__)


def start_controls(settings: Settings, stack: ExitStack, enable_hotkeys: bool = True) -> PresetController:
    """The preset controller for this run, with hotkeys listening (stopped by `stack`)
    unless they are off or cannot run here (said in one sentence; the rest runs)."""
    controller = PresetController(load_presets(settings.presets.file))
    for action in settings.hotkeys.bindings.values():
        controller.check_action(action)
    if not enable_hotkeys:
        return controller

    def act(action: str) -> None:
        controller.perform(action, time.monotonic())

    listener = HotkeyListener(settings.hotkeys.bindings, act)
    try:
        listener.start()
    except HotkeysUnavailable as reason:
        log.warning("%s", reason)
        return controller
    stack.callback(listener.stop)
    return controller
