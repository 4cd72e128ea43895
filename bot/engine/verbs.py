"""The command verbs of a process: one registry for parsing replies, help and suggestions.

This module owns what each `/<command> <verb>` means for a configuration: the info
verbs (`help`, `status`), every transition verb, every status name (a verb that moves
to that status), `undo`, the comment-period verbs (`fcp`, `concern`, `resolve`, where some
transition has a period), and the implementation-link verbs (`link`, `unlink`). The help text,
and the README's command reference generated from it, come from `registry`, so they
never disagree with what the bot accepts.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from bot.engine.config import ANY, NEW, Config, Transition
from bot.engine.opt_in import RELEASE_VERBS

Kind = Literal["transition", "info", "undo", "period", "link", "release"]
INFO_VERBS = {
    "help": "shows this list of commands",
    "status": "shows the proposal's status, what is missing, and who can act next",
    "explain": "shows how each transition's roles resolve for `@login` (default: you)",
}
# Usage beyond `/<command> <verb>` for the info verbs that take an argument.
_INFO_USAGE = {"explain": " [@login]"}
LINK_VERBS = {
    "link": "on an implementation pull request: links it to the proposal `<ref>`",
    "unlink": "on an implementation pull request: removes its link to the proposal `<ref>`",
}
UNDO = "undo"
UNDO_SUMMARY = "reverts the bot's last transition on this pull request (its metadata edit too)"
FCP, CONCERN, RESOLVE = "fcp", "concern", "resolve"
FCP_CANCEL = "cancel"
PERIOD_VERBS = {
    FCP: (
        "<verb>",
        "starts the comment period of a transition that has one (once its quorum has given "
        "it); when the period ends with no concern open, the bot makes the move. "
        f"`{FCP} {FCP_CANCEL}` stops it",
    ),
    CONCERN: ("<name>", "raises a concern: the comment period pauses until it is resolved"),
    RESOLVE: ("<name>", "resolves a concern; the comment period resumes"),
}
RESERVED = (
    frozenset(INFO_VERBS)
    | frozenset(LINK_VERBS)
    | {UNDO}
    | frozenset(PERIOD_VERBS)
    | frozenset(RELEASE_VERBS)
)
# Logical fields whose values are references to other proposals.
_REFERENCE_FIELDS = frozenset({"superseded-by", "replaces", "see-also"})


@dataclass(frozen=True)
class Verb:
    """One command verb: what it is called, what it does, and how to write it."""

    name: str
    summary: str
    kind: Kind
    target: str | None  # the status a transition verb moves to
    usage: str  # e.g. `/kep replace <ref>`


def registry(config: Config) -> list[Verb]:
    """Every verb of `config`: info verbs, transition verbs in config order, status names
    (those some transition moves to, unless a verb has that name already), link verbs."""
    found = [_info_verb(config, name) for name in INFO_VERBS]
    for name in _transition_verb_names(config):
        found.append(_transition_verb(config, name))
    taken = {verb.name for verb in found} | RESERVED
    for status in config.status_names:
        if status.lower() not in taken and _transitions_named(config, status.lower()):
            found.append(_transition_verb(config, status.lower()))
            taken.add(status.lower())
    found.append(Verb(UNDO, UNDO_SUMMARY, "undo", None, f"/{config.command} {UNDO}"))
    if has_periods(config):
        for name, (argument, summary) in PERIOD_VERBS.items():
            usage = f"/{config.command} {name} {argument}"
            found.append(Verb(name, summary, "period", None, usage))
    found += [_link_verb(config, name) for name in LINK_VERBS]
    if config.tracking is not None and config.tracking.opt_in is not None:
        for name, (argument, summary) in RELEASE_VERBS.items():
            usage = f"/{config.command} {name} {argument}".rstrip()
            found.append(Verb(name, summary, "release", None, usage))
    return found


def has_periods(config: Config) -> bool:
    """Whether some transition of `config` waits out a comment period."""
    return any(t.period is not None for t in config.transitions)


def resolve(config: Config, verb: str, current_status: str | None) -> list[Transition]:
    """The transitions `verb` can mean; [] for an unknown verb and the non-transition verbs.

    A transition verb means its transitions; a status name means the transitions to that
    status (case does not matter). Every candidate is returned, the ones legal from
    `current_status` (None: a new proposal) first; callers still decide legality with
    `process.find_transition`.
    """
    name = verb.lower()
    if name in RESERVED:
        return []
    candidates = _transitions_named(config, name)
    legal = [t for t in candidates if _legal_from(t, current_status)]
    return legal + [t for t in candidates if t not in legal]


def closest(config: Config, verb: str, n: int = 3) -> list[str]:
    """Up to `n` known verbs that look like `verb`, the closest first (for "unknown verb")."""
    names = [v.name for v in registry(config)]
    return difflib.get_close_matches(verb.lower(), names, n=n)


def help_text(config: Config) -> str:
    """The command reference of `config` as markdown (stable: no dates, no repository names)."""
    word = config.command
    rows = [_help_row(config, verb) for verb in registry(config)]
    return "\n".join(
        [
            f"Write a command at the start of a line in a pull-request comment, "
            f"e.g. `/{word} status`. Several commands in one comment run in order; "
            f"commands in code, quotes and HTML comments are ignored. Add `--dry-run` to "
            f"a command that moves a proposal to see the change it would make, unmade.",
            "",
            "| command | what it does | who may run it |",
            "| --- | --- | --- |",
            *rows,
            "",
        ]
    )


def _transition_verb_names(config: Config) -> list[str]:
    names: list[str] = []
    for transition in config.transitions:
        for verb in transition.verbs:
            if verb.lower() not in names and verb.lower() not in RESERVED:
                names.append(verb.lower())
    return names


def _transitions_named(config: Config, name: str) -> list[Transition]:
    """Transitions with verb `name`, or to a status called `name`, in config order."""
    return [
        t
        for t in config.transitions
        if name in (verb.lower() for verb in t.verbs) or t.to.lower() == name
    ]


def _legal_from(transition: Transition, current: str | None) -> bool:
    source = NEW if current is None else current
    return ANY in transition.from_ or source in transition.from_


def _info_verb(config: Config, name: str) -> Verb:
    usage = f"/{config.command} {name}{_INFO_USAGE.get(name, '')}"
    return Verb(name, INFO_VERBS[name], "info", None, usage)


def _link_verb(config: Config, name: str) -> Verb:
    return Verb(name, LINK_VERBS[name], "link", None, f"/{config.command} {name} <ref>")


def _transition_verb(config: Config, name: str) -> Verb:
    transitions = _transitions_named(config, name)
    targets = list(dict.fromkeys(t.to for t in transitions))
    argument = next((t.argument for t in transitions if t.argument), None)
    usage = f"/{config.command} {name}"
    summary = "moves the proposal to " + " or ".join(f"`{t}`" for t in targets)
    sources = _sources(transitions)
    summary += f" (from {sources})" if sources else ""
    adds = next((t.add_sections for t in transitions if t.add_sections), None)
    if adds is not None:
        summary += f" and adds the section files `{adds}` requires, from the template"
    if argument is not None:
        placeholder = _placeholder(argument)
        usage += f" {placeholder}"
        summary += f" and records `{placeholder}` as `{argument}`"
    summary += _quorum_text(transitions)
    period = next((t.period for t in transitions if t.period is not None), None)
    if period is not None:
        unit = "business days" if period.business_days else "days"
        starter = f"/{config.command} {FCP} {name}"
        summary += f", after a comment period of {period.days:g} {unit}: give it as `{starter}`"
    return Verb(name, summary, "transition", targets[0], usage)


def _quorum_text(transitions: list[Transition]) -> str:
    quorum = next((t.quorum for t in transitions if t.quorum != "any"), "any")
    if quorum == "all":
        return ", once every approver the proposal lists has given it"
    if isinstance(quorum, int) and quorum > 1:
        return f", once {quorum} people have given it"
    return ""


def _sources(transitions: list[Transition]) -> str:
    sources = list(dict.fromkeys(s for t in transitions for s in t.from_))
    if ANY in sources:
        return "any status"
    return ", ".join("a new proposal" if s == NEW else f"`{s}`" for s in sources)


def _placeholder(argument: str) -> str:
    name = argument.replace("_", "-")
    return "<ref>" if name in _REFERENCE_FIELDS else f"<{name}>"


def _help_row(config: Config, verb: Verb) -> str:
    who = "anyone"
    if verb.kind == "link":
        who = "the pull request's author, approvers"
    elif verb.kind == "undo":
        who = "whoever gave the undone command, approvers"
    elif verb.kind == "period":
        who = _period_who(config, verb.name)
    elif verb.kind == "release":
        who = _release_who(config)
    elif verb.kind == "transition":
        roles = dict.fromkeys(r for t in resolve(config, verb.name, None) for r in t.roles)
        who = ", ".join(_role_name(role) for role in roles)
    return f"| `{verb.usage}` | {verb.summary} | {who} |"


def _period_who(config: Config, name: str) -> str:
    if name == FCP:
        return "whoever may run the transition; to stop it, its starter or approvers"
    if name == RESOLVE:
        return "whoever raised the concern, approvers"
    return ", ".join(_role_name(role) for role in config.roles if role != "author")


def _release_who(config: Config) -> str:
    rule = config.tracking.opt_in if config.tracking is not None else None
    if rule is None:
        return "nobody"
    who = [f"the members of `{rule.alias}` in `{rule.aliases_file}`"] if rule.alias else []
    who += [_role_name(role) for role in rule.roles]
    return ", ".join(who) or "nobody"


def _role_name(role: str) -> str:
    return "the proposal's authors" if role == "author" else f"{role}s"
