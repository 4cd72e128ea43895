"""The real proposal corpus, given explicitly with --corpus (it is not part of this project)."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def corpus_root(request: pytest.FixtureRequest) -> Path:
    given = request.config.getoption("--corpus")
    if not given:
        pytest.fail(
            "the corpus tests need --corpus PATH (the folder holding kubernetes-enhancements/, "
            "gateway-api/, kube-agentic-networking/ and kplane-enhancements/)"
        )
    root = Path(given)
    if not (root / "kubernetes-enhancements").is_dir():
        pytest.fail(f"--corpus {root} does not hold kubernetes-enhancements/")
    return root
