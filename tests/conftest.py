"""Options shared by the whole suite.

The corpus tests (tests/corpus) read real proposals that are not part of this project;
they run when `--corpus PATH` is given (CI always gives it) or when named explicitly,
in which case a missing `--corpus` fails them with a message.
"""

from pathlib import Path

import pytest

CORPUS_TESTS = Path(__file__).parent / "corpus"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--corpus", default=None, help="path to the shared proposal corpus")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path != CORPUS_TESTS or config.getoption("--corpus"):
        return None
    named = any(Path(arg.split("::")[0]).resolve() == CORPUS_TESTS for arg in config.args)
    return None if named else True
