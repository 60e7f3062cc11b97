"""The explicit motion space and the audio-to-motion model."""
