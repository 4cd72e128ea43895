"""Opting a proposal in for a release (`/<command> track <milestone>`, `untrack`;
docs/design.md B10): the verbs, and who the configuration says may give them.

Pure. The alias rule reads an OWNERS_ALIASES-style file (`aliases: {name: [logins]}`) from
the default branch (docs/design.md I5): the alias the configuration names for the
proposal's area (`{area}-leads`: `sig-node-leads`) lists the people who may opt the
proposal in or out. A file that cannot be read, or an alias it lacks, grants nobody.
"""

from __future__ import annotations

import re

import yaml

from bot.engine.config import OptIn
from bot.engine.roles import normalize

__all__ = ["RELEASE_VERBS", "TRACK", "UNTRACK", "alias_members", "alias_name"]

TRACK, UNTRACK = "track", "untrack"
RELEASE_VERBS = {
    TRACK: (
        "<milestone>",
        "opts the proposal in for the release `<milestone>` (e.g. `v1.37`): its tracking "
        "issue gets the opt-in label and that milestone",
    ),
    UNTRACK: ("", "takes the proposal's opt-in back: the opt-in label and that milestone"),
}
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def alias_name(rule: OptIn, area: str | None) -> str | None:
    """The alias that lists who may opt a proposal of `area` in (None: no alias rule, or
    no area, or a name no alias can have)."""
    if rule.alias is None:
        return None
    if "{area}" in rule.alias and not area:
        return None
    name = rule.alias.replace("{area}", area or "")
    return name if _ALIAS.match(name) else None


def alias_members(text: str | None, alias: str) -> list[str] | None:
    """The logins alias `alias` lists in the aliases file `text`, normalised; None when the
    file is missing or unreadable or has no such alias."""
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    aliases = data.get("aliases") if isinstance(data, dict) else None
    found = aliases.get(alias) if isinstance(aliases, dict) else None
    if not isinstance(found, list):
        return None
    return [normalize(str(item)) for item in found if isinstance(item, str) and item.strip()]
