"""The JSON shape of a milestone, as GitHub's REST API and webhooks give it."""

from __future__ import annotations

from bot.sandbox.model import Json, Milestone, Repo, State
from bot.sandbox.views import Urls, login_json, node_id


def milestone_json(state: State, urls: Urls, repo: Repo, milestone: Milestone) -> Json:
    api = f"{urls.repo(repo.full_name)}/milestones/{milestone.number}"
    inside = [i for i in repo.issues.values() if i.milestone == milestone.number]
    return {
        "url": api,
        "html_url": f"{urls.web}/{repo.full_name}/milestone/{milestone.number}",
        "labels_url": f"{api}/labels",
        "id": milestone.id,
        "node_id": node_id("Milestone", milestone.id),
        "number": milestone.number,
        "state": milestone.state,
        "title": milestone.title,
        "description": milestone.description,
        "creator": login_json(state, urls, milestone.creator),
        "open_issues": sum(1 for i in inside if i.state == "open"),
        "closed_issues": sum(1 for i in inside if i.state != "open"),
        "created_at": milestone.created_at,
        "updated_at": milestone.updated_at,
        "closed_at": milestone.closed_at,
        "due_on": milestone.due_on,
    }


def issue_milestone(state: State, urls: Urls, repo: Repo, number: int | None) -> Json | None:
    """The milestone an issue is in, shaped, or None."""
    found = repo.milestones.get(number) if number is not None else None
    return milestone_json(state, urls, repo, found) if found is not None else None
