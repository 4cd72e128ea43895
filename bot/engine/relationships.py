"""Relationships between proposals that are recorded on both of them (docs/design.md B1).

Gateway API's GEPs keep them under `relationships` in `metadata.yaml`: `obsoletes` and its
back-reference `obsoletedBy`, `extends` and `extendedBy`, and `seeAlso`, which has none.
The GEP template says of them: "The obsoleted GEP MUST have its obsoletedBy field set back
to this GEP" and "The extended GEP MUST have its extendedBy field set back to this GEP".
`validation.backlinks` names the pairs. This module reads the links, finds those that name
no proposal of the repository and those set one way only, and writes a missing back-link
into the other proposal's metadata with a minimal diff (`backlink_edits`: path → new text,
lines added only) for the bot to offer.

Pure: it reads files through a Tree. A link is checked between the two proposals it joins,
so a change is checked by reading only the proposals its own links name (`related_paths`),
in its head and in its base version.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from bot.engine.config import Backlinks, Config
from bot.engine.formats import FormatError, FrontMatter, YamlFile, get_format
from bot.engine.formats.base import Field, Metadata, Value
from bot.engine.numbering import as_int, is_placeholder
from bot.engine.proposal import metadata_view, name_parts, proposal_paths
from bot.engine.tree import Tree

__all__ = [
    "Backlink",
    "Link",
    "Relations",
    "backlink_edits",
    "checks_relations",
    "missing_backlinks",
    "related_files",
    "related_paths",
]


@dataclass(frozen=True)
class Link:
    """`source` (a metadata path) lists the proposal numbered `number` under `relation`."""

    source: str
    relation: str
    number: int
    line: int


@dataclass(frozen=True)
class Backlink:
    """A link set one way only: `target` does not list `link.source` under `reverse`.

    `line` is where in `target` the back-link belongs (its `reverse` key, else the key
    holding the relationships, else the end of the metadata).
    """

    link: Link
    source_number: int
    source_title: str | None
    target: str
    reverse: str
    line: int


@dataclass(frozen=True)
class _Party:
    path: str
    number: int | None
    title: str | None
    links: tuple[Link, ...]
    holder_line: int  # the line of the relationships key, or the end of the metadata
    key_lines: dict[str, int]


def checks_relations(config: Config) -> bool:
    """Whether the configuration asks for relationships to be checked."""
    rule = config.validation.backlinks
    return bool(rule.pairs or rule.one_way)


def _relations_of(rule: Backlinks) -> list[str]:
    return [*rule.reverse(), *(name for name in rule.one_way if name not in rule.reverse())]


def _container(rule: Backlinks, metadata: Metadata) -> dict[str, Field]:
    if rule.under is None:
        return metadata.fields
    holder = metadata.fields.get(rule.under)
    return holder.value if holder is not None and isinstance(holder.value, dict) else {}


def _number_in(config: Config, entry: Value) -> int | None:
    """The proposal number an entry names: `{number: 1294, ...}`, `1294` or `GEP-1294`."""
    rule = config.validation.backlinks
    if isinstance(entry, dict):
        found = entry.get(rule.number_key)
        entry = found.value if found is not None else None
    if not isinstance(entry, str):
        return None
    text = entry.strip()
    prefix = config.kind.upper() + "-"
    if text.upper().startswith(prefix):
        text = text[len(prefix) :]
    return as_int(text)


def _entry_line(entry: Value, fallback: int) -> int:
    if isinstance(entry, dict) and entry:
        return next(iter(entry.values())).line
    return fallback


def _read_metadata(config: Config, tree: Tree, path: str) -> Metadata | None:
    """The metadata of `path` alone (not its document), None when absent or unreadable."""
    text = tree.read(path)
    if text is None:
        return None
    layout = config.proposals
    try:
        return get_format(layout.format).parse(metadata_view(layout, text)[0])
    except FormatError:
        return None  # reported as parse.error where the proposal itself is checked


def _party(config: Config, path: str, metadata: Metadata) -> _Party:
    rule = config.validation.backlinks
    container = _container(rule, metadata)
    links: list[Link] = []
    for relation in _relations_of(rule):
        field = container.get(relation)
        if field is None or not isinstance(field.value, list):
            continue
        for index, entry in enumerate(field.value):
            number = _number_in(config, entry)
            if number is not None:
                line = _entry_line(entry, field.line + 1 + index)
                links.append(Link(path, relation, number, line))
    parts = name_parts(config.proposals, path)
    named = parts.get("number") if parts else None
    number = None if is_placeholder(config, named) else as_int(named)
    title_key = config.proposals.fields.title
    title = metadata.get(title_key) if title_key else None
    holder_line = metadata.line_of(rule.under) if rule.under else metadata.end_line
    return _Party(
        path,
        number,
        title.strip() if isinstance(title, str) and title.strip() else None,
        tuple(links),
        holder_line,
        {key: field.line for key, field in container.items()},
    )


def _by_number(config: Config, tree: Tree) -> dict[int, str]:
    """Every proposal of `tree` by the number its name carries (no file is read)."""
    found: dict[int, str] = {}
    for path in proposal_paths(config, tree):
        parts = name_parts(config.proposals, path)
        named = parts.get("number") if parts else None
        number = None if is_placeholder(config, named) else as_int(named)
        if number is not None:
            found.setdefault(number, path)
    return found


class Relations:
    """The relationships of the proposals at `paths` in `tree`, and what they point at."""

    def __init__(self, config: Config, tree: Tree, paths: Iterable[str]) -> None:
        self.config = config
        self.tree = tree
        self.numbers = _by_number(config, tree)
        self.parties: dict[str, _Party] = {}
        for path in sorted(set(paths)):
            metadata = _read_metadata(config, tree, path)
            if metadata is not None:
                self.parties[path] = _party(config, path, metadata)

    def unresolved(self, involving: Collection[str] | None = None) -> list[Link]:
        """Links of the proposals in `involving` (None: all read) that name no proposal."""
        return [
            link
            for path, party in self.parties.items()
            if involving is None or path in involving
            for link in party.links
            if link.number not in self.numbers
        ]

    def missing(self, involving: Collection[str] | None = None) -> list[Backlink]:
        """Links set one way only between two proposals read, one of them in `involving`
        (None: any); each is reported once, as the back-link its target lacks."""
        reverse = self.config.validation.backlinks.reverse()
        wanted = None if involving is None else set(involving)
        found: dict[tuple[str, str, int], Backlink] = {}
        for source in self.parties.values():
            if source.number is None:
                continue  # a placeholder number cannot be linked back yet
            for link in source.links:
                back = reverse.get(link.relation)
                target = self.parties.get(self.numbers.get(link.number, ""))
                if back is None or target is None or target.path == source.path:
                    continue
                if wanted is not None and not {source.path, target.path} & wanted:
                    continue
                if any(
                    own.relation == back and own.number == source.number for own in target.links
                ):
                    continue
                line = target.key_lines.get(back, target.holder_line)
                gap = Backlink(link, source.number, source.title, target.path, back, line)
                found.setdefault((target.path, back, source.number), gap)
        return list(found.values())


def related_paths(config: Config, tree: Tree, path: str) -> set[str]:
    """The proposals that the relationships of `path` name, as they are in `tree`: what a
    check of a change to `path` reads besides it (none where relationships are not
    checked, or `path` is not in `tree`)."""
    if not checks_relations(config):
        return set()
    metadata = _read_metadata(config, tree, path)
    if metadata is None:
        return set()
    numbers = _by_number(config, tree)
    linked = (numbers.get(link.number) for link in _party(config, path, metadata).links)
    return {found for found in linked if found is not None and found != path}


def related_files(config: Config, trees: Iterable[Tree], paths: Iterable[str]) -> set[str]:
    """The proposals the relationships of `paths` name in any of `trees` (a change's head
    and base): the metadata files a check of that change reads besides its own."""
    wanted = list(paths)
    return {
        found for tree in trees for path in wanted for found in related_paths(config, tree, path)
    }


def missing_backlinks(config: Config, tree: Tree, paths: Iterable[str]) -> list[Backlink]:
    """The back-links missing between the proposals at `paths` (a pull request's) and those
    their relationships name, as `tree` (its head) has them: what `backlink_edits` fixes."""
    wanted = set(paths)
    parties = wanted | related_files(config, (tree,), wanted)
    return Relations(config, tree, parties).missing(wanted)


def backlink_edits(config: Config, tree: Tree, gaps: Iterable[Backlink]) -> dict[str, str]:
    """The metadata files that lack back-links, each with the back-links added: path → new
    text. Each back-link is one new list item (`- number: 1294` and the source's title
    under `title-key`), lines added only (bot.engine.formats.yaml_edit.add_list_item).

    Raises ValueError for a metadata format that is not YAML, and FormatError when a
    file cannot take the item (a list written `[a, b]`).
    """
    fmt = get_format(config.proposals.format)
    if not isinstance(fmt, YamlFile | FrontMatter):
        raise ValueError(f"back-links can only be written in YAML metadata, not {fmt.name!r}")
    rule = config.validation.backlinks
    edited: dict[str, str] = {}
    for gap in gaps:
        text = edited[gap.target] if gap.target in edited else tree.read(gap.target)
        if text is None:
            continue
        item = {rule.number_key: str(gap.source_number)}
        if rule.title_key and gap.source_title:
            item[rule.title_key] = gap.source_title
        keys = (rule.under, gap.reverse) if rule.under else (gap.reverse,)
        edited[gap.target] = fmt.add_list_item(text, keys, item)
    return edited
