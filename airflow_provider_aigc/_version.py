"""The package version, in one place (the package, its metadata and its User-Agent read it)."""

__version__ = "0.2.0"
