"""JSON shapes of accounts, repositories, the App, installations, labels and reactions.

The shapes follow GitHub's REST examples and the webhook schemas (both are checked by tests);
URLs point back at the double, under the API root the request came in on.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.sandbox.model import (
    DEFAULT_INSTALLATION_PERMISSIONS,
    App,
    Installation,
    Json,
    Label,
    Reaction,
    Repo,
    State,
    User,
)

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
APP_EVENTS = ["check_run", "issue_comment", "pull_request", "push"]

_REPO_LINKS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


@dataclass(frozen=True)
class Urls:
    """Where the double is reachable: the API root (with any /api/v3) and the web root."""

    api: str
    web: str

    def repo(self, full_name: str) -> str:
        return f"{self.api}/repos/{full_name}"

    def host(self) -> str:
        return self.web.split("://", 1)[-1]


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def user_json(urls: Urls, user: User) -> Json:
    api = f"{urls.api}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id(user.type, user.id),
        "avatar_url": f"{urls.web}/avatars/u/{user.id}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{user.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "site_admin": False,
    }


def login_json(state: State, urls: Urls, login: str) -> Json:
    return user_json(urls, state.user(login))


def org_json(state: State, urls: Urls, login: str) -> Json:
    org = state.user(login, "Organization")
    api = f"{urls.api}/orgs/{org.login}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{urls.web}/avatars/u/{org.id}",
        "description": None,
    }


def repo_json(state: State, urls: Urls, repo: Repo) -> Json:
    api = urls.repo(repo.full_name)
    html = f"{urls.web}/{repo.full_name}"
    open_issues = sum(1 for issue in repo.issues.values() if issue.state == "open")
    forks = sum(1 for other in state.repos.values() if other.parent == repo.full_name)
    shape: Json = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": login_json(state, urls, repo.owner),
        "html_url": html,
        "description": None,
        "fork": repo.parent is not None,
        "url": api,
    }
    shape.update({key: api + suffix for key, suffix in _REPO_LINKS.items()})
    shape.update(
        {
            "created_at": repo.created_at,
            "updated_at": repo.pushed_at or repo.created_at,
            "pushed_at": repo.pushed_at or repo.created_at,
            "git_url": f"git://{urls.host()}/{repo.full_name}.git",
            "ssh_url": f"git@{urls.host()}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": forks,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": forks,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "custom_properties": {},
        }
    )
    return shape


def app_json(state: State, urls: Urls, app: App) -> Json:
    return {
        "id": app.id,
        "slug": app.slug,
        "node_id": node_id("Integration", app.id),
        "owner": login_json(state, urls, app.owner),
        "name": app.name,
        "description": "",
        "external_url": f"{urls.web}/apps/{app.slug}",
        "html_url": f"{urls.web}/apps/{app.slug}",
        "created_at": app.created_at,
        "updated_at": app.created_at,
        "permissions": dict(DEFAULT_INSTALLATION_PERMISSIONS),
        "events": list(APP_EVENTS),
    }


def client_id(app: App) -> str:
    return f"Iv1.{app.id:016x}"


def installation_json(
    state: State, urls: Urls, installation: Installation, *, webhook: bool = False
) -> Json:
    """An installation; the webhook form lacks the REST-only single-file and slug fields."""
    account = state.user(installation.account)
    shape: Json = {
        "id": installation.id,
        "account": user_json(urls, account),
        "repository_selection": "all" if installation.repositories is None else "selected",
        "access_tokens_url": f"{urls.api}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.web}/settings/installations/{installation.id}",
        "app_id": state.app.id,
        "target_id": account.id,
        "target_type": "Organization" if account.type == "Organization" else "User",
        "permissions": dict(installation.permissions),
        "events": list(APP_EVENTS),
        "created_at": installation.created_at,
        "updated_at": installation.created_at,
        "single_file_name": None,
        "suspended_by": None,
        "suspended_at": None,
    }
    if webhook:  # installation events carry epoch seconds here
        shape["created_at"] = shape["updated_at"] = epoch(installation.created_at)
    else:
        shape.update(
            {
                "app_slug": state.app.slug,
                "client_id": client_id(state.app),
                "has_multiple_single_files": False,
                "single_file_paths": [],
            }
        )
    return shape


def label_json(urls: Urls, repo: Repo, label: Label) -> Json:
    return {
        "id": label.id,
        "node_id": node_id("Label", label.id),
        "url": f"{urls.repo(repo.full_name)}/labels/{quote(label.name, safe='')}",
        "name": label.name,
        "color": label.color,
        "default": label.default,
        "description": label.description,
    }


def reactions_summary(url: str, reactions: list[Reaction]) -> Json:
    summary: dict[str, Any] = {"url": url, "total_count": len(reactions)}
    for content in REACTION_CONTENTS:
        summary[content] = sum(1 for reaction in reactions if reaction.content == content)
    return summary


def reaction_json(state: State, urls: Urls, reaction: Reaction) -> Json:
    return {
        "id": reaction.id,
        "node_id": node_id("Reaction", reaction.id),
        "user": login_json(state, urls, reaction.user),
        "content": reaction.content,
        "created_at": reaction.created_at,
    }
