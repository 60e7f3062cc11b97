"""Audio front end: capture, file sources, resampling, VAD and streaming log-mel features."""
