"""Training-data generation for the audio-to-motion model: synthetic speech with phoneme
timings, augmented audio and motion targets in the motion space (`avatarcam train data`)."""
