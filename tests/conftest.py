"""Options and fixtures shared by the whole suite.

Some tests read the shared reference data beside this repository (`../shared`: the real
proposal corpus, GitHub's webhook schemas and payload examples, REST examples), which is
not part of this project. They run when `--shared PATH` is given (CI always gives it:
`pytest --shared=../shared -m shared`) and are deselected, not skipped, otherwise, so the
default `pytest` stands on fixtures the tests write themselves.
"""

import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import settings
from preset_repos import BUILDERS
from redis_process import INSTALL_HINT, RedisServer, find_redis_server

from bot.sandbox import GitHubDouble, testing
from bot.sandbox.testing import SEED_FILES, AppCredentials, Sandbox, app_credentials

SHARED_FIXTURES = {"shared_root", "corpus_root", "github_shared"}

# Mutation testing (scripts/mutation) runs the engine tests once per mutant: there every
# property test must draw the same examples each time, and few of them. The default
# profile is left as it is; KEPBOT_HYPOTHESIS_PROFILE=mutation selects this one.
settings.register_profile(
    "mutation", max_examples=50, derandomize=True, database=None, deadline=None
)
if os.environ.get("KEPBOT_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["KEPBOT_HYPOTHESIS_PROFILE"])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shared",
        default=None,
        help="path of the shared reference folder (holding corpus/ and github/)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "shared: reads the shared reference data (--shared)")
    config.addinivalue_line(
        "markers", "browser: renders pages in headless Chromium (run them with -m browser)"
    )
    config.addinivalue_line(
        "markers", "redis: runs a real redis-server (hosted mode; run them with -m redis)"
    )


def _deselect(config: pytest.Config, items: list[pytest.Item], marker: str) -> None:
    needing = [item for item in items if item.get_closest_marker(marker)]
    if needing:
        config.hook.pytest_deselected(items=needing)
        items[:] = [item for item in items if not item.get_closest_marker(marker)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared)
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if "redis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)
    if not config.getoption("--shared"):
        _deselect(config, items, "shared")
    # Browser tests need a system package (Debian's chromium); they run when asked for by
    # marker, as CI does after installing it, and are deselected (counted), not skipped.
    # So do the hosted-mode tests (Debian's redis-server).
    asked = config.getoption("markexpr") or ""
    for marker in ("browser", "redis"):
        if marker not in asked:
            _deselect(config, items, marker)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium's executable: $KEPBOT_CHROMIUM, or `chromium` on the PATH."""
    found = os.environ.get("KEPBOT_CHROMIUM") or shutil.which("chromium")
    if not found or not os.access(found, os.X_OK):
        pytest.fail(
            "the browser tests need headless Chromium: `apt-get install chromium` "
            "(Debian's package), or set KEPBOT_CHROMIUM to its executable"
        )
    return found


# Hosted-mode tests need Debian's redis-server: like the browser tests they run when asked
# for (`pytest -m redis`, as CI does after installing it), and a machine without
# redis-server is told what to install rather than passed.
@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of its own for the test, on a free loopback port."""
    executable = find_redis_server()
    if executable is None:
        pytest.fail(INSTALL_HINT)
    server = RedisServer(executable, tmp_path)
    await server.start()
    yield server
    await server.kill()


@pytest.fixture(scope="session")
def shared_root(request: pytest.FixtureRequest) -> Path:
    root = Path(request.config.getoption("--shared")).resolve()
    if not (root / "corpus").is_dir() or not (root / "github").is_dir():
        pytest.fail(f"--shared {root} does not hold corpus/ and github/")
    return root


@pytest.fixture(scope="session")
def corpus_root(shared_root: Path) -> Path:
    """The real proposals: kubernetes-enhancements/, gateway-api/, kube-agentic-networking/, ..."""
    return shared_root / "corpus"


@pytest.fixture(scope="session")
def github_shared(shared_root: Path) -> Path:
    """GitHub reference data: rest-subset.md, rest-examples.json, payloads/."""
    return shared_root / "github"


@pytest.fixture
def files_for() -> Callable[[str], dict[str, str]]:
    """A preset's small proposal repository, as {path: text} (tests/preset_repos.py)."""
    return lambda preset: BUILDERS[preset]()


# The GitHub double, shared by the folders that test against it (each folder's conftest
# defines `double`, e.g. with a manual clock).


@pytest.fixture
def credentials() -> AppCredentials:
    return app_credentials()


@pytest.fixture
def repo(double: GitHubDouble) -> str:
    """octo/enhancements holding one KEP."""
    return double.add_repo("octo", "enhancements", SEED_FILES)


@pytest.fixture
def installation(double: GitHubDouble, repo: str) -> int:
    """The App installed on the octo account."""
    return double.add_installation("octo")


@pytest.fixture
async def sandbox(double: GitHubDouble, credentials: AppCredentials) -> AsyncIterator[Sandbox]:
    """The double served on loopback (`bot.sandbox.testing.Sandbox`); the handlers' tests
    use `box`, a `Harness` (tests/handlers/conftest.py), instead."""
    async with testing.sandbox(double, credentials=credentials) as running:
        yield running
