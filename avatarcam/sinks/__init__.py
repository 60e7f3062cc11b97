"""Frame sinks: virtual camera, video file, preview window, null."""
