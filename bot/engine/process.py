"""The process state machine: statuses, legal transitions, and the verbs that request them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.config import ANY, NEW, Config, Transition
from bot.engine.verbs import resolve


@dataclass(frozen=True)
class Move:
    """A status change between two versions of a proposal (`before` is None for a new one)."""

    path: str
    before: str | None
    after: str | None


def transitions_to(config: Config, target: str) -> list[Transition]:
    return [t for t in config.transitions if t.to == target]


def find_transition(config: Config, before: str | None, after: str) -> Transition | None:
    """The transition that moves `before` (None: a new proposal) to `after`, if one is legal."""
    source = NEW if before is None else before
    for transition in transitions_to(config, after):
        if source in transition.from_ or ANY in transition.from_:
            return transition
    return None


def is_legal(config: Config, before: str | None, after: str) -> bool:
    return find_transition(config, before, after) is not None


def free_move(config: Config, before: str | None, after: str | None) -> bool:
    """Whether moving `before` (None: a new proposal) to `after` is one legal step that needs
    nobody's command: its transition says `decision: false` (the kep-2017 preset's new
    Draft), so a valid pull request that makes it passes the check (docs/design.md B1)."""
    if after is None or before == after:
        return False
    transition = find_transition(config, before, after)
    return transition is not None and not transition.decision


def next_statuses(config: Config, current: str | None) -> list[str]:
    """Statuses reachable in one step, in the order the configuration lists them."""
    return [s for s in config.status_names if s != current and is_legal(config, current, s)]


def verbs(config: Config) -> dict[str, list[Transition]]:
    """Every command verb: each transition's verbs and every status name."""
    table: dict[str, list[Transition]] = {}
    for transition in config.transitions:
        for verb in [*transition.verbs, transition.to]:
            table.setdefault(verb.lower(), []).append(transition)
    return table


def reachable(config: Config, before: str | None, after: str) -> bool:
    """Whether some sequence of transitions leads from `before` (None: new) to `after`.

    A pull request may carry several decisions (accepted, then approved), so its head's
    status only has to be reachable from the default branch's, step by step.
    """
    seen: set[str | None] = set()
    frontier: list[str | None] = [before]
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        for status in next_statuses(config, current):
            if status == after:
                return True
            frontier.append(status)
    return False


def first_step(config: Config, before: str | None, after: str) -> Transition | None:
    """The first transition of a shortest way from `before` (None: new) to `after`."""
    queue: list[tuple[str | None, Transition | None]] = [(before, None)]
    seen: set[str | None] = {before}
    while queue:
        current, first = queue.pop(0)
        for status in next_statuses(config, current):
            step = find_transition(config, current, status)
            lead = first or step
            if status == after:
                return lead
            if status not in seen:
                seen.add(status)
                queue.append((status, lead))
    return None


def transition_for(config: Config, verb: str, current: str | None) -> Transition | None:
    """The transition `verb` asks for from `current` (None: a new proposal), if legal."""
    for candidate in resolve(config, verb, current):
        legal = find_transition(config, current, candidate.to)
        if legal is not None and legal == candidate:
            return candidate
    return None
