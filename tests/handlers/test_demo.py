"""`kepbot demo` plays the whole loop against the double and says what happened."""

from bot import demo


async def test_the_demo_plays_a_proposal_from_opening_to_its_number() -> None:
    lines: list[str] = []
    assert await demo.play(say=lines.append) == 0
    text = "\n".join(lines)
    assert "check run 'kepbot' → failure: 2 errors" in text
    assert "action_required" in text
    assert "`@bob` is not an approver" in text
    assert "+status: implementable" in text
    assert "check run 'kepbot' → success" in text
    assert "keps/sig-node/754-pod-restart-budget/kep.yaml" in text
