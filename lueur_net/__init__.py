"""lueur-net: kernel-level network fault injection driven by lueur scenario files."""

__version__ = "0.1.0"
