"""hedgetui: supervise a delta-neutral spot/perpetual hedge from the terminal."""

__version__ = "0.1.0"
