"""A loopback GitHub double: GitHub's REST subset the bot uses, held in memory, for tests and
`kepbot demo`. Start with `GitHubDouble` (state, seeding, faults) and `bot.sandbox.testing`."""

from bot.sandbox.double import GitHubDouble
from bot.sandbox.server import serve

__all__ = ["GitHubDouble", "serve"]
