"""kepbot: runs enhancement-proposal processes from pull requests."""

__version__ = "0.1.0"
