"""Package version (kept equal to pyproject.toml's [project] version by a test)."""
__version__ = "0.1.0"
