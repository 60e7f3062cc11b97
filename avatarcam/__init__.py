"""avatarcam: one portrait photo becomes a live talking avatar on a system webcam."""

__version__ = "0.1.0"
