"""Control: settings files, expression presets and hotkeys."""
