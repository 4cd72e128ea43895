"""The engine tests' repositories: the suite's (`files_for`, tests/conftest.py) and the
kepctl demo's KEP among them (tests/engine/kepctl_kep.py)."""

from collections.abc import Callable

import pytest
from kepctl_kep import kepctl_files

Files = Callable[[str], dict[str, str]]


@pytest.fixture
def files_for(files_for: Files) -> Files:
    """The suite's `files_for`, which also builds the kepctl preset's repository here."""
    return lambda preset: kepctl_files() if preset == "kepctl" else files_for(preset)
