"""The embedded renderer: portrait analysis (landmarks, pose, mask, background) and warping."""
