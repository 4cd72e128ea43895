"""The pure proposal engine: configuration, formats, validation, numbering, index.

Nothing under this package performs network I/O or imports aiohttp or gidgethub.
"""
