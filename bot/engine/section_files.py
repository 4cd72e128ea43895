"""A proposal's section files: the list in its metadata, what each status requires of it,
and the files a transition adds (docs/design.md B1, B3).

kepctl keeps each section of a KEP as a markdown file in the KEP's folder and lists them in
its metadata (`sections: [summary.md, motivation.md, README.md]`); "sections [are] added as
the KEP state changes and moves toward implementation". With `proposals.fields.sections`
set, a status's `sections` name such files, and this module owns the rules on them:

- `sections.path`: a listed entry is not a file inside the proposal's folder (`../x`, `/x`),
  or the list is longer than `MAX_SECTIONS` (the rest is not read);
- `sections.file`: a listed section is not in the tree;
- `sections.missing`: the status requires a section the list does not name;
- `sections.empty`: a required section holds no text: only headings, HTML comments and
  blank lines, as a template leaves it.

A transition with `add-sections` (kepctl's PLAN) adds to the list the sections the named
status requires that it does not name yet, and writes their files from the template
(`added_files`), in the transition's one commit.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from bot.engine import markdown
from bot.engine.config import Config, Layout, StatusDef, Transition
from bot.engine.findings import Collector
from bot.engine.formats import FormatError, get_format
from bot.engine.formats.base import Metadata
from bot.engine.proposal import Proposal, load_proposal
from bot.engine.tree import Tree

# Listed sections read per proposal: the list comes from a pull request, each entry costs a
# read (docs/security.md).
MAX_SECTIONS = 100


def listed(metadata: Metadata, config: Config) -> list[str]:
    """The section files the metadata lists, as written (paths inside the folder)."""
    return _listed(metadata, config.proposals)


def _listed(metadata: Metadata, layout: Layout) -> list[str]:
    key = layout.fields.sections
    value = metadata.get(key) if key is not None else None
    if not isinstance(value, list):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]


def sections_to_add(config: Config, metadata: Metadata, transition: Transition | None) -> list[str]:
    """The sections `transition` adds to the metadata's list: those its `add-sections`
    status requires that the list does not name yet, in the status's order."""
    if transition is None or transition.add_sections is None:
        return []
    status = config.status(transition.add_sections)
    if status is None or config.proposals.fields.sections is None:
        return []
    have = set(listed(metadata, config))
    return [name for name in status.sections if name not in have]


def inside(folder: str, name: str) -> str | None:
    """The repository path of the section `name` of the proposal in `folder`; None when
    `name` does not stay inside the folder."""
    if not name or name.startswith("/") or "\\" in name:
        return None
    path = posixpath.normpath(posixpath.join(folder, name))
    return path if path.startswith(folder.rstrip("/") + "/") else None


def added_files(config: Config, path: str, before: str, after: str) -> dict[str, str]:
    """The files of the sections the metadata text `after` lists and `before` does not, from
    the template (`template.sections`, else `template.files`): repository path → text."""
    fmt = get_format(config.proposals.format)
    try:
        old = set(listed(fmt.parse(before), config))
        new = listed(fmt.parse(after), config)
    except FormatError:
        return {}
    templates = {**config.template.files, **config.template.sections}
    folder = posixpath.dirname(path)
    found: dict[str, str] = {}
    for name in new[:MAX_SECTIONS]:
        where = inside(folder, name)
        if name not in old and where is not None and name in templates:
            found[where] = templates[name]
    return found


def has_text(text: str) -> bool:
    """Whether a section file says something: text other than headings, HTML comments and
    blank lines (a template's guidance is a comment)."""
    headings = {heading.line for heading in markdown.headings(text)}
    lines = text.splitlines()
    body = "\n".join(line for number, line in enumerate(lines, 1) if number not in headings)
    return markdown.has_content(body)


def section_paths(proposal: Proposal) -> list[str]:
    """The repository paths of the sections the proposal lists (at most MAX_SECTIONS)."""
    if proposal.metadata is None:
        return []
    folder = posixpath.dirname(proposal.path)
    names = _listed(proposal.metadata, proposal.layout)[:MAX_SECTIONS]
    return [path for path in (inside(folder, name) for name in names) if path is not None]


def files_to_read(config: Config, trees: Iterable[Tree], paths: Iterable[str]) -> set[str]:
    """The section files the checks of the proposals at `paths` read, in each of `trees`
    (whose metadata files are read already)."""
    if config.proposals.fields.sections is None:
        return set()
    wanted: set[str] = set()
    for tree in trees:
        for path in paths:
            proposal = load_proposal(config, tree, path)
            if proposal is not None:
                wanted.update(section_paths(proposal))
    return wanted


def check_sections(
    out: Collector, proposal: Proposal, tree: Tree, definition: StatusDef | None
) -> None:
    """The section rules (module docstring) on one proposal in `tree`."""
    if proposal.layout.fields.sections is None or proposal.metadata is None:
        return
    folder = posixpath.dirname(proposal.path)
    names = _listed(proposal.metadata, proposal.layout)
    line = proposal.line_of("sections")
    if len(names) > MAX_SECTIONS:
        out.add(
            "sections.path",
            proposal.path,
            line,
            f"sections lists {len(names)} files; only the first {MAX_SECTIONS} are read",
        )
    files: dict[str, str] = {}
    for name in names[:MAX_SECTIONS]:
        where = inside(folder, name)
        if where is None:
            out.add(
                "sections.path",
                proposal.path,
                line,
                f"section {name!r} is not a file inside the proposal's folder {folder}/",
            )
        elif tree.read(where) is None:
            out.add(
                "sections.file",
                proposal.path,
                line,
                f"section {name!r} is listed, but {where} does not exist",
            )
        else:
            files[name] = where
    if definition is None:
        return
    for required in definition.sections:
        where = files.get(required)
        if required not in names:
            # The words "needs a section " make the finding the same whichever status needs
            # it (bot.engine.validate._lasting).
            out.add(
                "sections.missing",
                proposal.path,
                line,
                f"status {definition.name} needs a section {required!r} listed in "
                f"{proposal.field_key('sections')}",
            )
        elif where is not None and not has_text(tree.read(where) or ""):
            out.add(
                "sections.empty",
                where,
                1,
                f"section {required!r} holds no text yet (only headings and comments): "
                f"status {definition.name} requires it",
            )
