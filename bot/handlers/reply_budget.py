"""How many replies one person gets from the bot on one pull request in an hour.

Every reply answering a person carries a hidden `to:<login>` tag (`addressed`). Before the
bot posts one, `ReplyBudget.allow` counts the replies to that person on that pull request
made in the last `window` seconds: those in the comment thread as read from GitHub (so a
restart or another instance counts them too) and those this process has just posted or is
about to post (so a flood of deliveries handled at the same time cannot all see a thread
with room left). Past `limit` the bot posts no reply and only reacts to the comment.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from bot.github.shapes import Comment, login_of

DEFAULT_REPLIES_PER_HOUR = 5
WINDOW_SECONDS = 3600.0
_TAG = re.compile(r"<!-- kepbot:to:([a-z0-9.-]+) -->")
_MARKER = re.compile(r"<!-- kepbot:([A-Za-z0-9._:/#-]+) -->")


def addressee(login: str) -> str:
    """`login` as it stands in a `to:` tag: lower case, in the marker alphabet."""
    name = re.sub(r"[^a-z0-9-]", ".", login.lower().removeprefix("@"))
    return re.sub(r"-{2,}", "-", name) or "."


def addressed(login: str) -> str:
    """The hidden tag saying that a bot comment answers `login`."""
    return f"<!-- kepbot:to:{addressee(login)} -->"


def _moment(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


class ReplyBudget:
    """At most `limit` replies to one person on one pull request per `window` seconds."""

    def __init__(
        self, limit: int = DEFAULT_REPLIES_PER_HOUR, window: float = WINDOW_SECONDS
    ) -> None:
        self.limit = limit
        self.window = datetime.timedelta(seconds=window)
        # (repo, number, login) -> {reply marker: when this process took it}
        self._taken: dict[tuple[str, int, str], dict[str, datetime.datetime]] = {}

    def allow(
        self,
        repo: str,
        number: int,
        login: str,
        marker: str,
        thread: Sequence[Comment],
        bot_login: str,
        now: datetime.datetime,
    ) -> bool:
        """Whether the reply `marker` to `login` may be posted now; if so it is counted.

        A reply already posted or taken (the same marker) is allowed again: posting it is
        a no-op by its marker.
        """
        since = now - self.window
        key = (repo.lower(), number, addressee(login))
        taken = self._taken.setdefault(key, {})
        for old, at in list(taken.items()):
            if at < since:
                del taken[old]
        seen = set(taken) | set(self._posted(thread, bot_login, key[2], since))
        if marker in seen:
            return True
        if len(seen) >= self.limit:
            return False
        taken[marker] = now
        self._forget(since)
        return True

    @staticmethod
    def _posted(
        thread: Sequence[Comment], bot_login: str, who: str, since: datetime.datetime
    ) -> list[str]:
        """The markers of the bot's replies to `who` in `thread` made since `since`."""
        me, found = bot_login.lower(), []
        for comment in thread:
            if login_of(comment.get("user")).lower() != me:
                continue
            body = str(comment.get("body") or "")
            tag = _TAG.search(body)
            made = _moment(comment.get("created_at"))
            if tag is None or tag.group(1) != who or made is None or made < since:
                continue
            marker = _MARKER.search(body)
            found.append(marker.group(1) if marker else f"#{comment.get('id')}")
        return found

    def _forget(self, since: datetime.datetime) -> None:
        """Drop people with nothing taken in the window (keeps the map small)."""
        if len(self._taken) < 1024:
            return
        for key in [k for k, v in self._taken.items() if all(at < since for at in v.values())]:
            del self._taken[key]
