"""The decision rules of replay: which command moves a proposal, starts, pauses, resumes or
stops a comment period, undoes a step, and how a head's status stands against them.

Every test goes through the engine's public functions (`replay`, `verdict`, ...); the
roles are those of `can` below, asked for the proposal at PATH only.
"""

import dataclasses
import datetime
from collections.abc import Sequence

from bot.engine.authorize import (
    Replay,
    RunningPeriod,
    Spoken,
    Step,
    concern_roles,
    is_dry_run,
    replay,
    transition_for,
    verdict,
    without_dry_run,
)
from bot.engine.commands import Command
from bot.engine.config import Config, Period, RoleRule, Transition, load_preset
from bot.engine.roles import Grant, normalize

UTC = datetime.UTC
PATH = "keps/sig-node/1-x/kep.yaml"
T0 = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
ROLES = {
    "carol": {"approver"},
    "dave": {"approver"},
    "bob": {"reviewer"},
    "rita": {"reviewer"},
    "alice": {"author"},
    "erin": {"author"},
}


def at(days: float) -> datetime.datetime:
    return T0 + datetime.timedelta(days=days)


async def can(login: str, transition: Transition, path: str) -> Grant:
    """The roles of ROLES, held for the proposal at PATH and nowhere else."""
    who = normalize(login)
    held = ROLES.get(who, set()) if path == PATH else set()
    role = next((r for r in transition.roles if r in held), None)
    if role is None:
        return Grant(transition.roles[0], False, f"{who} holds none of {transition.roles}")
    return Grant(role, True, f"{who} is {role}")


def says(
    login: str, text: str, day: float | None, edited: float | None = None, number: int = 1
) -> Spoken:
    """`login` wrote `/kep <text>` on `day` (None: no timestamp), edited on `edited`."""
    words = text.split()
    command = Command(words[0], tuple(words[1:]), 1, f"/kep {text}")
    written = None if day is None else at(day)
    return Spoken(login, (command,), number, written, None if edited is None else at(edited))


def history(*items: tuple[str, str, float] | tuple[str, str, float, float]) -> list[Spoken]:
    """(login, text, day written[, day edited]) each, one comment each, in order."""
    spoken = []
    for number, (login, text, day, *edited) in enumerate(items, start=1):
        spoken.append(says(login, text, day, edited[0] if edited else None, number))
    return spoken


def with_period(
    days: float = 10, quorum: object = "any", business: bool = False, roles: list[str] | None = None
) -> Config:
    """The KEP preset with a comment period on `approve` (to implementable)."""
    config = load_preset("kep")
    update: dict[str, object] = {"period": Period(days=days, business_days=business)}
    update["quorum"] = quorum
    if roles is not None:
        update["roles"] = roles
    transitions = [
        t.model_copy(update=update) if t.to == "implementable" else t for t in config.transitions
    ]
    return config.model_copy(update={"transitions": transitions})


async def run(
    config: Config,
    spoken: Sequence[Spoken],
    *,
    base: str | None = "provisional",
    now: float | None = None,
    approvers: Sequence[str] = (),
) -> Replay:
    when = None if now is None else at(now)
    return await replay(config, PATH, base, spoken, can, approvers, when)


def approve_of(config: Config) -> Transition:
    transition = transition_for(config, "approve", "provisional")
    assert transition is not None
    return transition


# Moves and the steps that record them.


async def test_a_replay_starts_from_the_base_status_of_its_proposal() -> None:
    replayed = await run(load_preset("kep"), [])
    assert (replayed.path, replayed.base, replayed.status) == (PATH, "provisional", "provisional")
    assert not replayed.moved and replayed.steps == []


async def test_an_authorised_verb_moves_and_its_step_says_who_what_from_where_and_why() -> None:
    config = load_preset("kep")
    spoken = history(("carol", "approve", 0))
    replayed = await run(config, spoken)
    assert replayed.status == "implementable" and replayed.moved
    grant = Grant("approver", True, "carol is approver")
    step = Step(spoken[0], spoken[0].commands[0], "provisional", approve_of(config), grant)
    assert replayed.steps == [step]
    (made,) = replayed.steps
    assert made.waiting is False and made.action == "move" and made.applied


async def test_a_refused_vote_is_a_step_that_neither_waits_nor_counts() -> None:
    config = load_preset("kep")
    spoken = history(("mallory", "approve", 0))
    replayed = await run(config, spoken, approvers=["carol", "dave"])
    grant = Grant("approver", False, "mallory holds none of ['approver']")
    step = Step(spoken[0], spoken[0].commands[0], "provisional", approve_of(config), grant, False)
    assert replayed.steps == [step] and replayed.steps[0].waiting is False
    assert replayed.votes == {} and replayed.status == "provisional"


async def test_a_verb_not_legal_from_the_status_reached_is_a_step_with_no_transition() -> None:
    spoken = history(("carol", "implemented", 0), ("carol", "frobnicate", 1))
    replayed = await run(load_preset("kep"), spoken)
    assert replayed.steps == [Step(spoken[0], spoken[0].commands[0], "provisional", None, None)]
    assert replayed.status == "provisional", "an unknown verb leaves no step at all"


async def test_the_verb_of_a_period_transition_only_says_a_period_is_needed() -> None:
    config = with_period()
    spoken = history(("carol", "approve", 0))
    replayed = await run(config, spoken, now=30)
    command = spoken[0].commands[0]
    step = Step(spoken[0], command, "provisional", approve_of(config), None, action="needs-period")
    assert replayed.steps == [step] and replayed.status == "provisional"


def test_a_dry_run_is_marked_in_any_case_and_runs_for_real_without_the_flag() -> None:
    command = Command("approve", ("now", "--DRY-RUN"), 3, "/kep approve now --DRY-RUN")
    assert is_dry_run(command)
    assert not is_dry_run(Command("approve", ("--dry-runs",), 1, ""))
    assert without_dry_run(command) == Command("approve", ("now",), 0, "")
    assert without_dry_run(Command("defer", ("--dry-run", "--dry-run"), 2, "x")) == Command(
        "defer", (), 0, ""
    )


# Comment periods in replay.


async def test_fcp_starts_the_period_and_its_step_carries_it() -> None:
    config = with_period()
    spoken = history(("carol", "fcp approve", 0))
    replayed = await run(config, spoken, now=5)
    command = spoken[0].commands[0]
    period = RunningPeriod(approve_of(config), at(0), spoken[0], command)
    grant = Grant("approver", True, "carol is approver")
    step = Step(spoken[0], command, "provisional", approve_of(config), grant, False, "fcp", period)
    assert replayed.steps == [step] and replayed.period == period


async def test_the_period_end_is_a_step_of_the_starter_with_the_periods_grant() -> None:
    config = with_period()
    spoken = history(("carol", "fcp approve", 0), ("bob", "status", 20))
    replayed = await run(config, spoken)
    command = spoken[0].commands[0]
    period = RunningPeriod(approve_of(config), at(0), spoken[0], command)
    grant = Grant("period", True, "the comment period ended 2026-11-12 09:00 UTC")
    end = Step(spoken[0], command, "provisional", approve_of(config), grant, False, "period-end")
    assert replayed.steps[1:] == [dataclasses.replace(end, period=period)]
    assert replayed.status == "implementable" and replayed.period is None


async def test_a_second_fcp_for_a_running_period_neither_restarts_it_nor_adds_a_step() -> None:
    config = with_period()
    spoken = history(("carol", "fcp approve", 0), ("dave", "fcp approve", 5))
    running = await run(config, spoken, now=9.99)
    assert running.period is not None and running.period.started_at == at(0)
    assert running.period.starter.login == "carol"
    assert [s.action for s in running.steps] == ["fcp"]
    ended = await run(config, spoken, now=10)
    assert ended.status == "implementable", "ends ten days after the first fcp, not the second"


async def test_fcp_names_a_transition_with_a_period_legal_from_the_status_reached() -> None:
    config = with_period()
    for text in ("fcp defer", "fcp frobnicate", "fcp"):
        replayed = await run(config, history(("carol", text, 0)), now=30)
        assert (replayed.steps, replayed.period, replayed.status) == ([], None, "provisional")
    terminal = await run(config, history(("carol", "fcp approve", 0)), base="implemented", now=30)
    assert (terminal.steps, terminal.period, terminal.status) == ([], None, "implemented")


async def test_a_command_without_a_timestamp_counts_from_now() -> None:
    config = with_period()
    spoken = [says("carol", "fcp approve", None)]
    replayed = await run(config, spoken, now=3)
    assert replayed.period is not None and replayed.period.started_at == at(3)
    without_now = await run(config, spoken)
    assert (without_now.steps, without_now.period) == ([], None), "no moment to count from"


async def test_a_business_day_period_in_replay_skips_the_weekend() -> None:
    config = with_period(days=1, business=True)
    friday_noon = 4 + 3 / 24
    spoken = history(("carol", "fcp approve", friday_noon))
    monday_noon = friday_noon + 3
    assert (await run(config, spoken, now=monday_noon - 0.01)).status == "provisional"
    assert (await run(config, spoken, now=monday_noon)).status == "implementable"


async def test_fcp_cancel_ends_the_period_and_clears_its_votes() -> None:
    config = with_period(quorum="all")
    approvers = ["carol", "dave"]
    spoken = history(
        ("carol", "fcp approve", 0),
        ("dave", "fcp approve", 1),  # the quorum: the period starts
        ("carol", "fcp cancel", 2),
        ("carol", "fcp approve", 3),  # a vote again, alone
    )
    cancelled = await run(config, spoken, now=30, approvers=approvers)
    assert cancelled.status == "provisional" and cancelled.period is None
    assert cancelled.votes == {"implementable": ["carol"]}, "the earlier votes are gone"
    again = [*spoken, says("dave", "fcp approve", 4, number=9)]
    assert (await run(config, again, now=13.99, approvers=approvers)).status == "provisional"
    assert (await run(config, again, now=14, approvers=approvers)).status == "implementable"


async def test_fcp_cancel_is_a_step_its_starter_or_an_approver_may_give() -> None:
    config = with_period(roles=["approver", "reviewer"])
    transition = approve_of(config)
    for login, grant in [
        ("bob", Grant("author", True, "`bob` started the comment period")),
        ("@Carol", Grant("approver", True, "carol is approver")),
        ("rita", Grant("approver", False, "rita holds none of ['approver']")),
    ]:
        spoken = history(("bob", "fcp approve", 0), (login, "fcp cancel", 1))
        replayed = await run(config, spoken, now=30)
        command = spoken[1].commands[0]
        cancel = Step(spoken[1], command, "provisional", transition, grant, action="cancel")
        assert replayed.steps[1] == cancel
        expected = "implementable" if login == "rita" else "provisional"
        assert replayed.status == expected, f"{login}: a reviewer may not stop another's period"


async def test_fcp_cancel_without_a_running_period_does_nothing() -> None:
    replayed = await run(with_period(), history(("carol", "fcp cancel", 0)), now=30)
    assert (replayed.steps, replayed.period, replayed.status) == ([], None, "provisional")


# Concerns.


async def test_a_bare_concern_or_resolve_names_nothing_and_does_nothing() -> None:
    config = with_period()
    spoken = history(("carol", "fcp approve", 0), ("bob", "concern", 1), ("bob", "resolve", 2))
    replayed = await run(config, spoken, now=10)
    assert replayed.concerns == [] and replayed.status == "implementable"


async def test_a_concern_name_is_a_word_of_at_most_fifty_characters() -> None:
    config = with_period()
    refused = ["-dash", ".dot", "_under", "a/b", "naïve", "a" * 51]
    accepted = ["a" * 50, "v1.2_rc-3", "X"]
    spoken = history(*[("bob", f"concern {name}", 1) for name in [*refused, *accepted]])
    replayed = await run(config, spoken)
    assert [c.name for c in replayed.concerns] == accepted


async def test_a_concern_needs_a_role_of_the_process_other_than_author() -> None:
    config = with_period()
    spoken = history(
        ("mallory", "concern spam", 1), ("alice", "concern mine", 1), ("@Bob", "concern ok", 1)
    )
    replayed = await run(config, spoken)
    assert [(c.name, c.raised_by, c.raised_at) for c in replayed.concerns] == [("ok", "bob", at(1))]


def test_concern_roles_are_the_processs_roles_but_author_or_else_approver() -> None:
    config = load_preset("kep")
    assert concern_roles(config) == Transition(to="concern", roles=["approver", "reviewer"])
    only_authors = config.model_copy(update={"roles": {"author": RoleRule(metadata=["authors"])}})
    assert concern_roles(only_authors) == Transition(to="concern", roles=["approver"])
    stewards = config.model_copy(update={"roles": {"author": RoleRule(), "steward": RoleRule()}})
    assert concern_roles(stewards).roles == ["steward"]


async def test_a_concern_open_under_a_name_is_not_raised_again_until_resolved() -> None:
    config = with_period()
    spoken = history(
        ("carol", "fcp approve", 0),
        ("bob", "concern naming", 1),
        ("dave", "concern NAMING", 2),  # open already: nothing
        ("bob", "resolve naming", 3),
        ("dave", "concern Naming", 4),  # a new concern of the same name
    )
    replayed = await run(config, spoken)
    assert [(c.name, c.raised_by, c.raised_at, c.open) for c in replayed.concerns] == [
        ("naming", "bob", at(1), False),
        ("Naming", "dave", at(4), True),
    ]


async def test_resolve_name_resolves_only_the_concern_of_that_name() -> None:
    config = with_period()
    spoken = history(
        ("carol", "fcp approve", 0),
        ("bob", "concern naming", 1),
        ("bob", "concern api", 2),
        ("@Dave", "resolve API", 3),
    )
    replayed = await run(config, spoken, now=100)
    naming, api = replayed.concerns
    assert naming.open and naming.resolved_by is None
    assert (api.resolved_by, api.resolved_at) == ("dave", at(3))
    assert replayed.status == "provisional", "naming still pauses the period"


async def test_a_concern_is_resolved_by_its_raiser_or_an_approver_only() -> None:
    config = with_period()
    opened = [("carol", "fcp approve", 0), ("bob", "concern naming", 2)]
    by_reviewer = await run(config, history(*opened, ("rita", "resolve naming", 3)), now=100)
    assert by_reviewer.concerns[0].open and by_reviewer.status == "provisional"
    by_raiser = await run(config, history(*opened, ("bob", "resolve naming", 3)), now=11)
    assert by_raiser.concerns[0].resolved_by == "bob" and by_raiser.status == "implementable"


async def test_an_edited_resolve_counts_from_its_last_edit() -> None:
    config = with_period()
    spoken = history(
        ("carol", "fcp approve", 0),
        ("bob", "concern naming", 2),
        ("bob", "resolve naming", 5, 8),  # written on day 5, edited on day 8
    )
    replayed = await run(config, spoken, now=15.99)
    assert replayed.concerns[0].resolved_at == at(8)
    assert replayed.status == "provisional", "paused from day 2 to day 8, not to day 5"
    assert (await run(config, spoken, now=16)).status == "implementable"


async def test_a_concern_is_never_resolved_before_it_was_raised() -> None:
    config = with_period()
    spoken = history(
        ("carol", "fcp approve", 0),
        ("bob", "concern naming", 5),
        ("bob", "resolve naming", 3),  # a clock that disagrees with the order
    )
    replayed = await run(config, spoken, now=9.99)
    assert replayed.concerns[0].resolved_at == at(5)
    assert replayed.status == "provisional"
    assert (await run(config, spoken, now=10)).status == "implementable"


async def test_a_concern_raised_the_moment_the_period_runs_out_comes_too_late() -> None:
    config = with_period()
    on_time = history(("carol", "fcp approve", 0), ("bob", "concern late", 10))
    replayed = await run(config, on_time, now=30)
    assert replayed.status == "implementable"
    assert [s.action for s in replayed.steps] == ["fcp", "period-end"]
    just_before = history(("carol", "fcp approve", 0), ("bob", "concern late", 9.999))
    assert (await run(config, just_before, now=30)).status == "provisional"


async def test_concerns_raised_in_one_comment_are_resolved_one_by_one() -> None:
    config = with_period()
    command = [
        Command("concern", (name,), i, f"/kep concern {name}") for i, name in [(1, "a"), (2, "b")]
    ]
    together = Spoken("bob", tuple(command), 2, at(1))
    spoken = [says("carol", "fcp approve", 0), together, says("bob", "resolve a", 3, number=3)]
    replayed = await run(config, spoken, now=100)
    assert [(c.name, c.raised_at, c.open) for c in replayed.concerns] == [
        ("a", at(1), False),
        ("b", at(1), True),
    ]
    assert replayed.status == "provisional", "b still pauses the period"
    resolved = [*spoken, says("bob", "resolve b", 4, number=4)]
    assert (await run(config, resolved, now=12.99)).status == "provisional"
    assert (await run(config, resolved, now=13)).status == "implementable", "paused days 1-4"


async def test_overlapping_concerns_pause_once_and_one_left_open_holds_the_period() -> None:
    config = with_period()
    spoken = history(
        ("carol", "fcp approve", 0),
        ("bob", "concern a", 1),
        ("rita", "concern b", 2),
        ("bob", "resolve a", 3),
        ("rita", "resolve b", 4),
        ("bob", "concern c", 6),
        ("bob", "resolve c", 9),
    )
    assert (await run(config, spoken, now=15.99)).status == "provisional"
    assert (await run(config, spoken, now=16)).status == "implementable", "paused 1-4 and 6-9"
    later_open = [s for s in spoken if s.commands[0].raw != "/kep resolve b"]
    assert (await run(config, later_open, now=100)).status == "provisional"
    earlier_open = [s for s in spoken if s.commands[0].raw != "/kep resolve a"]
    assert (await run(config, earlier_open, now=100)).status == "provisional"


# Undo.


async def test_undo_with_nothing_to_undo_does_nothing() -> None:
    config = load_preset("kep")
    alone = await run(config, history(("carol", "undo", 0)))
    assert (alone.steps, alone.status) == ([], "provisional")
    voted = await run(
        config, history(("carol", "approve", 0), ("carol", "undo", 1)), approvers=["carol", "dave"]
    )
    assert [s.action for s in voted.steps] == ["move"], "a waiting vote moved nothing"
    assert voted.status == "provisional"


async def test_an_undo_of_an_undo_undoes_the_step_before_it() -> None:
    config = load_preset("kep")
    spoken = history(
        ("carol", "accept", 0),
        ("carol", "approve", 1),
        ("carol", "undo", 2),
        ("carol", "undo", 3),
        ("carol", "undo", 4),  # nothing is left to undo
    )
    replayed = await run(config, spoken, base=None)
    assert replayed.status is None
    undos = [s for s in replayed.steps if s.action == "undo"]
    assert [(s.before, s.transition.to if s.transition else None) for s in undos] == [
        ("implementable", "implementable"),
        ("provisional", "provisional"),
    ]


async def test_an_undo_step_names_the_undone_transition_and_why_it_may() -> None:
    config = load_preset("kep")
    spoken = history(("carol", "approve", 0), ("@Carol", "undo", 1))
    replayed = await run(config, spoken)
    grant = Grant("author", True, "`carol` gave the undone command")
    command = spoken[1].commands[0]
    undo = Step(spoken[1], command, "implementable", approve_of(config), grant, action="undo")
    assert replayed.steps[1] == undo
    assert replayed.status == "provisional"


async def test_a_refused_undo_cancels_nothing() -> None:
    config = load_preset("kep")
    spoken = history(
        ("carol", "accept", 0), ("carol", "approve", 1), ("mallory", "undo", 2), ("dave", "undo", 3)
    )
    replayed = await run(config, spoken, base=None)
    refused, granted = replayed.steps[2:]
    assert refused.action == "undo" and not refused.granted
    assert granted.grant == Grant("approver", True, "dave is approver")
    assert replayed.status == "provisional", "dave undid the approve, not the accept"


async def test_undo_skips_the_steps_that_moved_nothing() -> None:
    config = load_preset("kep")
    spoken = history(
        ("carol", "accept", 0),
        ("carol", "approve", 1),  # a vote waiting for dave
        ("carol", "implemented", 2),  # not legal from provisional
        ("carol", "undo", 3),
    )
    replayed = await run(config, spoken, base=None, approvers=["carol", "dave"])
    assert replayed.status is None, "the accept is the step undone"


async def test_only_an_approver_may_undo_another_persons_command() -> None:
    config = load_preset("kep")  # withdraw: approvers and authors
    withdrawn = [("alice", "withdraw", 0)]
    by_author = await run(config, history(*withdrawn, ("erin", "undo", 1)))
    assert by_author.status == "withdrawn", "another author may withdraw, not undo alice's"
    assert by_author.steps[-1].grant == Grant("approver", False, "erin holds none of ['approver']")
    assert (await run(config, history(*withdrawn, ("dave", "undo", 1)))).status == "provisional"
    assert (await run(config, history(*withdrawn, ("alice", "undo", 1)))).status == "provisional"


async def test_an_approver_may_undo_a_move_made_by_a_period() -> None:
    config = with_period()
    spoken = history(("carol", "fcp approve", 0), ("dave", "undo", 11))
    replayed = await run(config, spoken, now=30)
    assert replayed.steps[-1].action == "undo" and replayed.steps[-1].granted
    assert replayed.status == "provisional"


# Verdict: how the head's status stands against the replay.


async def test_verdict_is_unchanged_when_the_head_keeps_the_base_status() -> None:
    config = load_preset("kep")
    moved = await run(config, history(("carol", "approve", 0)))
    assert moved.status == "implementable"
    assert verdict(config, moved, "provisional") == "unchanged", "the head did not follow"
    assert verdict(config, moved, None) == "unchanged", "no status in the head"


async def test_verdict_is_authorised_when_the_commands_moved_exactly_to_the_head() -> None:
    config = load_preset("kep")
    moved = await run(config, history(("carol", "approve", 0)))
    assert verdict(config, moved, "implementable") == "authorised"
    accepted = await run(config, history(("carol", "accept", 0)), base=None)
    assert verdict(config, accepted, "provisional") == "authorised"


async def test_verdict_of_a_new_proposal_is_never_unchanged() -> None:
    config = load_preset("kep")
    new = await run(config, [], base=None)
    assert verdict(config, new, "provisional") == "waiting", "it waits to be accepted"
    assert verdict(config, new, "bogus") == "illegal"


async def test_verdict_is_waiting_for_a_legal_move_nobody_with_the_role_asked_for() -> None:
    config = load_preset("kep")
    asked = await run(config, history(("mallory", "approve", 0)))
    assert verdict(config, asked, "implementable") == "waiting"
    assert verdict(config, asked, "implemented") == "waiting", "two steps away is legal too"


async def test_verdict_is_illegal_for_an_unknown_or_unreachable_status() -> None:
    config = load_preset("kep")
    plain = await run(config, [])
    assert verdict(config, plain, "bogus") == "illegal"
    done = await run(config, [], base="implemented")
    assert verdict(config, done, "provisional") == "illegal", "implemented is terminal"
    rejected = await run(config, history(("carol", "reject", 0)))
    assert verdict(config, rejected, "implementable") == "illegal", (
        "judged from where the commands left it"
    )
