"""Realtime engine and the environment checks it depends on."""
