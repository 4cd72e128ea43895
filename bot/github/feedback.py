"""Writing the bot's feedback to GitHub: check runs (with annotations in batches of 50).

A bot running with a personal token cannot create check runs (GitHub reserves them for
Apps), so in token mode the result is a commit status with the same context name.
"""

from __future__ import annotations

import datetime
from typing import Any

from gidgethub.abc import GitHubAPI

from bot.check_output import CHECK_NAME, CheckOutput
from bot.github.retry import RETRY_SAFE
from bot.github.urls import repo_url


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


STATUS_STATE = {"success": "success", "neutral": "success", "failure": "failure"}


async def publish_status(
    gh: GitHubAPI, repo: str, head_sha: str, output: CheckOutput, *, name: str = CHECK_NAME
) -> None:
    """The token-mode stand-in for a check run: a commit status (no annotations)."""
    state = STATUS_STATE.get(output.conclusion, "pending")
    description = f"{output.title} (run kepbot validate for details)"
    await gh.post(
        repo_url(repo, "statuses", head_sha),
        data={"state": state, "context": name, "description": description[:140]},
    )


async def publish_check(
    gh: GitHubAPI, repo: str, head_sha: str, output: CheckOutput, *, name: str = CHECK_NAME
) -> int:
    """One completed check run on `head_sha`; annotations beyond 50 follow in PATCHes."""
    batches = output.batches() or [[]]
    body: dict[str, Any] = {
        "name": name,
        "head_sha": head_sha,
        "status": "completed",
        "conclusion": output.conclusion,
        "completed_at": _now(),
        "output": {"title": output.title, "summary": output.summary, "annotations": batches[0]},
    }
    if output.actions:  # buttons (at most three); a click comes back as `requested_action`
        body["actions"] = output.actions
    # Safe to repeat after a lost answer: a second completed run on the same commit only
    # duplicates the result, while giving up would leave the commit without a check.
    created = await gh.post(repo_url(repo, "check-runs"), data=body, extra_headers=dict(RETRY_SAFE))
    run_id = int(created["id"])
    for batch in batches[1:]:
        await gh.patch(
            repo_url(repo, "check-runs", run_id),
            data={
                "output": {"title": output.title, "summary": output.summary, "annotations": batch}
            },
        )
    return run_id
