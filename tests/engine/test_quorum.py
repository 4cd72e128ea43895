"""Quorum in replay: votes per transition target, `all` listed approvers, `n` people."""

from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from bot.engine.authorize import Quorum, Spoken, quorum_for, replay
from bot.engine.commands import Command
from bot.engine.config import Config, Transition, load_preset
from bot.engine.roles import Grant

PATH = "keps/sig-node/1-x/kep.yaml"
ALLOWED = {"carol", "dave", "erin"}


async def can(login: str, transition: Transition, path: str) -> Grant:
    """Carol, Dave and Erin hold every role."""
    return Grant("approver", login in ALLOWED, f"{login} asked")


def said(*pairs: tuple[str, str]) -> list[Spoken]:
    return [
        Spoken(login, (Command(text.split()[0], tuple(text.split()[1:]), 1, text),), i)
        for i, (login, text) in enumerate(pairs, start=1)
    ]


def with_quorum(quorum: object) -> Config:
    config = load_preset("kep")
    transitions = [
        t.model_copy(update={"quorum": quorum}) if t.to == "implementable" else t
        for t in config.transitions
    ]
    return config.model_copy(update={"transitions": transitions})


async def run(config: Config, history: Sequence[Spoken], approvers: Sequence[str] = ()) -> str:
    return (await replay(config, PATH, "provisional", history, can, approvers)).status or ""


async def test_all_listed_approvers_apply_on_the_last() -> None:
    config = load_preset("kep")
    approvers = ["@carol", "@Dave"]
    first = said(("carol", "approve"))
    assert await run(config, first, approvers) == "provisional"
    replayed = await replay(config, PATH, "provisional", first, can, approvers)
    assert replayed.votes == {"implementable": ["carol"]}
    assert replayed.steps[-1].waiting and not replayed.steps[-1].applied
    both = said(("carol", "approve"), ("dave", "approve"))
    assert await run(config, both, approvers) == "implementable"


async def test_unauthorised_and_repeated_votes_do_not_count() -> None:
    config = load_preset("kep")
    history = said(("carol", "approve"), ("mallory", "approve"), ("carol", "approve"))
    replayed = await replay(config, PATH, "provisional", history, can, ["carol", "dave"])
    assert replayed.status == "provisional"
    assert replayed.votes["implementable"] == ["carol"]


async def test_all_without_listed_approvers_falls_back_to_any() -> None:
    assert await run(load_preset("kep"), said(("erin", "approve"))) == "implementable"


async def test_a_number_counts_distinct_people() -> None:
    config = with_quorum(2)
    assert await run(config, said(("carol", "approve"), ("carol", "approve"))) == "provisional"
    assert await run(config, said(("carol", "approve"), ("erin", "approve"))) == "implementable"


async def test_dry_run_is_no_vote() -> None:
    config = load_preset("kep")
    history = said(("carol", "approve --dry-run"))
    replayed = await replay(config, PATH, "provisional", history, can)
    assert replayed.status == "provisional" and replayed.steps == []


async def test_votes_reset_when_the_status_moves() -> None:
    config = with_quorum(2)
    history = said(
        ("carol", "approve"), ("carol", "defer"), ("dave", "accept"), ("erin", "approve")
    )
    replayed = await replay(config, PATH, "provisional", history, can)
    assert replayed.status == "provisional", "carol's vote was before the defer"
    assert replayed.votes == {"implementable": ["erin"]}


def test_quorum_for_each_setting() -> None:
    base = Transition(to="implementable")
    assert quorum_for(base, ["carol"]) == Quorum(1)
    assert quorum_for(Transition(to="x", quorum="all"), ["@Carol", "dave"]) == Quorum(
        2, ("carol", "dave")
    )
    assert quorum_for(Transition(to="x", quorum=3), ["carol"]) == Quorum(3)
    assert Quorum(2, ("carol", "dave")).missing(["@carol"]) == ["dave"]


@pytest.mark.parametrize("bad", [0, -1, "most"])
def test_a_bad_quorum_is_a_config_error(bad: object) -> None:
    with pytest.raises(ValidationError):
        Transition.model_validate({"to": "x", "quorum": bad})
