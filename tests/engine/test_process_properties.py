"""Property tests for the state machine and the replay of commands over it."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from tests_support import examples

from bot.engine.authorize import Spoken, replay, verdict
from bot.engine.commands import Command
from bot.engine.config import PRESET_NAMES, Transition, load_preset
from bot.engine.process import find_transition, first_step, next_statuses, reachable
from bot.engine.roles import Grant
from bot.engine.verbs import registry

PRESETS = {name: load_preset(name) for name in PRESET_NAMES}
starts = st.sampled_from(PRESET_NAMES).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from([None, *PRESETS[name].status_names]))
)


@given(starts, st.data())
@settings(max_examples=examples(300), deadline=None)
def test_reachability_agrees_with_single_steps(
    start: tuple[str, str | None], data: st.DataObject
) -> None:
    name, current = start
    config = PRESETS[name]
    target = data.draw(st.sampled_from(config.status_names))
    if target in next_statuses(config, current):
        assert reachable(config, current, target)
        assert find_transition(config, current, target) is not None
    step = first_step(config, current, target)
    assert (step is not None) == reachable(config, current, target)
    if step is not None:  # the first step is legal from where we stand
        assert find_transition(config, current, step.to) == step


def _verbs(name: str) -> list[str]:
    return [v.name for v in registry(PRESETS[name]) if v.kind == "transition"]


histories = st.sampled_from(PRESET_NAMES).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.lists(st.tuples(st.sampled_from(_verbs(name)), st.booleans()), min_size=0, max_size=12),
    )
)


@given(histories)
@settings(max_examples=examples(300), deadline=None)
def test_replay_only_takes_legal_authorised_steps(
    history: tuple[str, list[tuple[str, bool]]],
) -> None:
    name, commands = history
    config = PRESETS[name]
    spoken = [
        Spoken("carol" if allowed else "mallory", (Command(verb, (), i + 1, f"/x {verb}"),), i + 1)
        for i, (verb, allowed) in enumerate(commands)
    ]

    async def can(login: str, transition: Transition, path: str) -> Grant:
        return Grant("approver", login == "carol", "")

    result = asyncio.run(replay(config, "p", None, spoken, can))
    current: str | None = None
    for step in result.steps:
        assert step.before == current
        if step.applied:
            assert step.transition is not None and step.grant is not None
            assert step.grant.granted and step.spoken.login == "carol"
            assert find_transition(config, current, step.transition.to) == step.transition
            current = step.transition.to
    assert result.status == current
    assert result.status is None or result.status in config.status_names
    # Whatever the commands reached is what the check accepts as decided.
    if result.status is not None:
        assert verdict(config, result, result.status) == "authorised"
