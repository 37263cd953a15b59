"""unihub: a self-hostable, wire-compatible Hubster messaging platform."""

__version__ = "0.1.0"
