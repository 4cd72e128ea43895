"""The release page (docs/design.md B11) through the real server and the double: on a
generated repository, proposals that meet and miss each rule of the Enhancements Freeze,
the ones opted in on GitHub, the boundary on the milestone, escaping, and what a view costs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot import demo
from bot.sandbox.cost import route
from bot.sandbox.generated import add_keps
from bot.sandbox.harness import Harness

REPO = demo.REPO
RULES = ["implementable", "latest-milestone", "stage", "prr", "test-plan", "graduation-criteria"]
SECTIONS = "## Summary\nS.\n\n### Test Plan\nTests.\n\n### Graduation Criteria\n\n#### Alpha\nA.\n"


def kep(number: int, **values: str) -> str:
    fields = {
        "title": f"Feature {number}",
        "status": "implementable",
        "stage": "alpha",
        "latest-milestone": '"v1.37"',
        "alpha": '"v1.37"',
        "beta": '""',
    }
    fields.update(values)
    return f"""\
title: {fields["title"]}
kep-number: {number}
authors:
  - "@alice"
owning-sig: sig-node
status: {fields["status"]}
approvers:
  - "@carol"
stage: {fields["stage"]}
latest-milestone: {fields["latest-milestone"]}
milestone:
  alpha: {fields["alpha"]}
  beta: {fields["beta"]}
"""


# number → (metadata overrides, README sections, approval file, the rule it misses)
CASES: dict[int, tuple[dict[str, str], str, str | None, str | None]] = {
    2001: ({}, SECTIONS, "alpha:\n  approver: '@wojtek-t'\n", None),
    2002: (
        {"status": "provisional", "title": "'<script>x</script>'"},
        SECTIONS,
        "alpha:\n  approver: '@w'\n",
        "implementable",
    ),
    2003: (
        {"latest-milestone": '"v1.36"', "stage": "beta", "alpha": '"v1.36"', "beta": '"v1.37"'},
        SECTIONS,
        "beta:\n  approver: '@w'\n",
        "latest-milestone",
    ),
    2004: ({"stage": "beta", "beta": '"v1.38"'}, SECTIONS, "beta:\n  approver: '@w'\n", "stage"),
    2005: ({}, SECTIONS, None, "prr"),
    2006: (
        {},
        SECTIONS.replace("### Test Plan\nTests.\n\n", ""),
        "alpha:\n  approver: '@w'\n",
        "test-plan",
    ),
    2007: (
        {},
        SECTIONS.replace("#### Alpha\nA.\n", ""),
        "alpha:\n  approver: '@w'\n",
        "graduation-criteria",
    ),
}
OPTED = 2008  # targets v1.36, opted in for v1.37 on its tracking issue


def seed(box: Harness) -> None:
    add_keps(box.double, REPO, 40)  # v1.33 KEPs: not in the release
    files: dict[str, str | None] = {}
    for number, (values, sections, review, _) in CASES.items():
        folder = f"keps/sig-node/{number}-feature-{number}"
        files[f"{folder}/kep.yaml"] = kep(number, **values)
        files[f"{folder}/README.md"] = f"# KEP-{number}\n\n{sections}"
        if review is not None:
            files[f"keps/prod-readiness/sig-node/{number}.yaml"] = f"kep-number: {number}\n{review}"
    folder = f"keps/sig-node/{OPTED}-feature-{OPTED}"
    files[f"{folder}/kep.yaml"] = kep(OPTED, **{"latest-milestone": '"v1.36"', "alpha": '"v1.36"'})
    files[f"{folder}/README.md"] = f"# KEP-{OPTED}\n\n{SECTIONS}"
    box.double.push(REPO, "main", files, "KEPs for v1.37", "carol")
    box.double.open_issue(REPO, "Feature 2008", number=OPTED)
    box.double.set_milestone(REPO, OPTED, "v1.37")
    box.double.label_issue(REPO, OPTED, "lead-opted-in")


async def get(box: Harness, path: str) -> tuple[int, Any, dict[str, str]]:
    async with box.session.get(f"{box.bot_url}{path}") as response:
        if response.content_type == "application/json":
            body: Any = await response.json()
        else:
            body = await response.text()
        return response.status, body, dict(response.headers)


async def test_each_rule_is_met_or_missed_with_its_reason_and_where_to_fix_it(box: Harness) -> None:
    seed(box)
    status, data, _ = await get(box, f"/pipeline/{REPO}/release/v1.37.json")
    assert status == 200
    by_number = {int(item["number"]): item for item in data["proposals"]}
    assert sorted(by_number) == [*CASES, OPTED]  # none of the v1.33 KEPs
    assert data["freeze"] == "Enhancements Freeze" and [r["id"] for r in data["rules"]] == RULES
    for number, (_, _, _, missed) in CASES.items():
        item = by_number[number]
        failing = [check["id"] for check in item["checks"] if not check["met"]]
        assert failing == ([missed] if missed else []), number
        assert item["ready"] is (missed is None)
        assert item["area"] == "sig-node" and item["authors"] == ["@alice"]
    assert by_number[OPTED]["why"] == ["opted in"]
    assert by_number[2001]["why"] == ["targets"]
    late = next(c for c in by_number[2003]["checks"] if c["id"] == "latest-milestone")
    assert late["reason"] == "latest milestone is v1.36"
    assert (late["path"], late["line"]) == ("keps/sig-node/2003-feature-2003/kep.yaml", 10)
    assert late["url"].endswith("/keps/sig-node/2003-feature-2003/kep.yaml#L10")
    review = next(c for c in by_number[2005]["checks"] if c["id"] == "prr")
    assert review["path"] == "keps/prod-readiness/sig-node/2005.yaml"
    assert review["reason"] == "there is no approval file"
    plan = next(c for c in by_number[2006]["checks"] if c["id"] == "test-plan")
    assert plan["path"].endswith("2006-feature-2006/README.md")
    assert data["ready"] == 1 and data["total"] == len(CASES) + 1


async def test_the_html_escapes_every_value_and_allows_no_script(box: Harness) -> None:
    seed(box)
    status, page, headers = await get(box, f"/pipeline/{REPO}/release/v1.37")
    assert status == 200
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "2 of" not in page and "1 of 8 proposals meet every rule" in page


async def test_a_milestone_outside_the_boundary_makes_no_request(box: Harness) -> None:
    seed(box)
    start = len(box.double.requests)
    for bad in ("v1.37%3Bx", "..", "v1.37%2F..%2F", "x" * 60):
        status, _, _ = await get(box, f"/pipeline/{REPO}/release/{bad}.json")
        assert status == 404, bad
    assert box.double.requests[start:] == []
    status, body, _ = await get(box, f"/pipeline/{REPO}/release/release-1.json")
    assert status == 400 and "milestone" in body["message"]


# A first view of a repository the bot has not built a release page of (App mode).
COLD = {
    "GET installation": 1,  # the installation that covers the repository (App's JWT)
    "POST /app/installations/N/access_tokens": 1,
    "GET /app": 1,  # the bot's login
    "GET /repos/kubernetes-demo/enhancements": 1,  # the access rule, the default branch
    "GET contents/{path}": 1,  # .github/kepbot.yml (none)
    "GET /repos/kubernetes-demo/.github": 1,  # nor the owner's: the kep preset
    "GET git/ref/heads/main": 1,  # the head
    "GET git/trees/{sha}": 1,  # its tree
    "GET tarball/{sha}": 1,  # 48 metadata files from the archive: the redirect
    "GET /_codeload/kubernetes-demo/enhancements/legacy.tar.gz/{sha}": 1,  # and the download
    "GET /search/issues": 1,  # the tracking issues opted in for v1.37
    "GET git/blobs/{sha}": 14,  # the 8 listed KEPs' READMEs and 6 approval files
}


async def test_a_view_costs_a_build_then_nothing_while_cached(box: Harness) -> None:
    seed(box)
    start = len(box.double.requests)
    assert (await get(box, f"/pipeline/{REPO}/release/v1.37.json"))[0] == 200
    made = Counter(route(r) for r in box.double.requests[start:])
    assert made == Counter(COLD)
    again = len(box.double.requests)
    assert (await get(box, f"/pipeline/{REPO}/release/v1.37"))[0] == 200
    assert (await get(box, f"/pipeline/{REPO}/release/v1.37.json"))[0] == 200
    assert box.double.requests[again:] == []  # kept for five minutes
