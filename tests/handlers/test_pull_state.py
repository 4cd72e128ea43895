"""A pull request's state is data; what may be done with it is decided elsewhere."""

from __future__ import annotations

from bot.handlers.pr_state import PullState


def test_pull_state_holds_data_and_decides_nothing() -> None:
    """Its own attributes are the dataclass's fields and two read-only views of the PR;
    who may act on it is bot.handlers.permissions."""
    own = {name: value for name, value in vars(PullState).items() if not name.startswith("__")}
    methods = [name for name, value in own.items() if callable(value)]
    views = sorted(name for name, value in own.items() if isinstance(value, property))
    assert methods == []
    assert views == ["author", "number"]
    assert all(view.fset is None for view in (PullState.author, PullState.number))
