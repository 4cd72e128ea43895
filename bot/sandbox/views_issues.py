"""JSON shapes of issues, pull requests, issue comments, reviews and changed files."""

from __future__ import annotations

from bot.sandbox import pulls
from bot.sandbox.diffing import FileChange
from bot.sandbox.model import Comment, Issue, Json, PullRequest, Repo, Review, State
from bot.sandbox.views import (
    Urls,
    app_json,
    label_json,
    login_json,
    node_id,
    reactions_summary,
    repo_json,
)
from bot.sandbox.views_milestones import issue_milestone


def author_association(state: State, repo: Repo, login: str) -> str:
    if login.lower() == repo.owner.lower():
        return "OWNER"
    if state.org_role(repo.owner, login) is not None:
        return "MEMBER"
    if login.lower() in repo.collaborators:
        return "COLLABORATOR"
    merged_before = any(
        issue.user.lower() == login.lower() and issue.pull is not None and issue.pull.merged
        for issue in repo.issues.values()
    )
    return "CONTRIBUTOR" if merged_before else "NONE"


def _labels(urls: Urls, repo: Repo, issue: Issue) -> list[Json]:
    return [label_json(urls, repo, repo.labels[name.lower()]) for name in issue.labels]


def _performed_via(state: State, urls: Urls, login: str) -> Json | None:
    return app_json(state, urls, state.app) if login == state.app.bot_login else None


def issue_json(state: State, urls: Urls, repo: Repo, issue: Issue) -> Json:
    """An issue (or a PR seen through the Issues API), shaped as in webhooks."""
    api = f"{urls.repo(repo.full_name)}/issues/{issue.number}"
    kind = "pull" if issue.pull is not None else "issues"
    html = f"{urls.web}/{repo.full_name}/{kind}/{issue.number}"
    shape: Json = {
        "url": api,
        "repository_url": urls.repo(repo.full_name),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": html,
        "id": issue.id,
        "node_id": node_id("Issue", issue.id),
        "number": issue.number,
        "title": issue.title,
        "user": login_json(state, urls, issue.user),
        "labels": _labels(urls, repo, issue),
        "state": issue.state,
        "locked": issue.locked,
        "assignee": None,
        "assignees": [],
        "milestone": issue_milestone(state, urls, repo, issue.milestone),
        "comments": len(issue.comment_ids),
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "author_association": author_association(state, repo, issue.user),
        "active_lock_reason": None,
        "body": issue.body,
        "reactions": reactions_summary(f"{api}/reactions", issue.reactions),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
        "state_reason": issue.state_reason,
    }
    if issue.pull is not None:
        pull_api = f"{urls.repo(repo.full_name)}/pulls/{issue.number}"
        shape["draft"] = issue.pull.draft
        shape["pull_request"] = {
            "url": pull_api,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": issue.pull.merged_at,
        }
    return shape


def comment_json(state: State, urls: Urls, repo: Repo, comment: Comment) -> Json:
    api = f"{urls.repo(repo.full_name)}/issues/comments/{comment.id}"
    kind = "pull" if repo.issues[comment.number].pull is not None else "issues"
    html = f"{urls.web}/{repo.full_name}/{kind}/{comment.number}"
    return {
        "url": api,
        "html_url": f"{html}#issuecomment-{comment.id}",
        "issue_url": f"{urls.repo(repo.full_name)}/issues/{comment.number}",
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "user": login_json(state, urls, comment.user),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "author_association": author_association(state, repo, comment.user),
        "body": comment.body,
        "reactions": reactions_summary(f"{api}/reactions", comment.reactions),
        "performed_via_github_app": _performed_via(state, urls, comment.user),
    }


def _branch_json(state: State, urls: Urls, full_name: str, ref: str, sha: str) -> Json:
    repo = state.repo(full_name)
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": login_json(state, urls, repo.owner),
        "repo": repo_json(state, urls, repo),
    }


def _links(urls: Urls, repo: Repo, number: int, head: str) -> Json:
    api = urls.repo(repo.full_name)
    hrefs = {
        "self": f"{api}/pulls/{number}",
        "html": f"{urls.web}/{repo.full_name}/pull/{number}",
        "issue": f"{api}/issues/{number}",
        "comments": f"{api}/issues/{number}/comments",
        "review_comments": f"{api}/pulls/{number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{number}/commits",
        "statuses": f"{api}/statuses/{head}",
    }
    return {name: {"href": href} for name, href in hrefs.items()}


def pull_json(state: State, urls: Urls, repo: Repo, issue: Issue) -> Json:
    """A pull request with the computed fields (mergeable, counts), as in `GET pulls/{n}`."""
    pr: PullRequest = pulls.pull_of(issue)
    base, head = pulls.compared_range(state, repo, pr)
    base_head = repo.branch(pr.base_ref) if pr.frozen is None else None
    files = pulls.changed_files(state, repo, pr)
    mergeable = pulls.mergeable(state, repo, pr)
    links = _links(urls, repo, issue.number, head)
    hrefs = {name: link["href"] for name, link in links.items()}
    return {
        "url": hrefs["self"],
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "html_url": hrefs["html"],
        "diff_url": hrefs["html"] + ".diff",
        "patch_url": hrefs["html"] + ".patch",
        "issue_url": hrefs["issue"],
        "number": issue.number,
        "state": issue.state,
        "locked": issue.locked,
        "title": issue.title,
        "user": login_json(state, urls, issue.user),
        "body": issue.body,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "merged_at": pr.merged_at,
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": _labels(urls, repo, issue),
        "milestone": issue_milestone(state, urls, repo, issue.milestone),
        "commits_url": hrefs["commits"],
        "review_comments_url": hrefs["review_comments"],
        "review_comment_url": hrefs["review_comment"],
        "comments_url": hrefs["comments"],
        "statuses_url": hrefs["statuses"],
        "head": _branch_json(state, urls, pr.head_repo, pr.head_ref, head),
        "base": _branch_json(state, urls, repo.full_name, pr.base_ref, base_head or base),
        "_links": links,
        "author_association": author_association(state, repo, issue.user),
        "auto_merge": None,
        "active_lock_reason": None,
        "draft": pr.draft,
        "merged": pr.merged,
        "mergeable": mergeable,
        "rebaseable": mergeable,
        "mergeable_state": pulls.mergeable_state(state, repo, pr),
        "merged_by": login_json(state, urls, pr.merged_by) if pr.merged_by else None,
        "comments": len(issue.comment_ids),
        "review_comments": 0,
        "maintainer_can_modify": pr.maintainer_can_modify,
        "commits": len(pulls.pull_commits(state, repo, pr)),
        "additions": sum(change.additions for change in files),
        "deletions": sum(change.deletions for change in files),
        "changed_files": len(files),
    }


def review_json(state: State, urls: Urls, repo: Repo, number: int, review: Review) -> Json:
    html = f"{urls.web}/{repo.full_name}/pull/{number}#pullrequestreview-{review.id}"
    pull_api = f"{urls.repo(repo.full_name)}/pulls/{number}"
    return {
        "id": review.id,
        "node_id": node_id("PullRequestReview", review.id),
        "user": login_json(state, urls, review.user),
        "body": review.body,
        "state": review.state,
        "html_url": html,
        "pull_request_url": pull_api,
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
        "submitted_at": review.submitted_at,
        "commit_id": review.commit_id,
        "author_association": author_association(state, repo, review.user),
    }


def file_json(urls: Urls, repo: Repo, head: str, change: FileChange) -> Json:
    shape: Json = {
        "sha": change.sha,
        "filename": change.filename,
        "status": change.status,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.changes,
        "blob_url": f"{urls.web}/{repo.full_name}/blob/{head}/{change.filename}",
        "raw_url": f"{urls.web}/{repo.full_name}/raw/{head}/{change.filename}",
        "contents_url": f"{urls.repo(repo.full_name)}/contents/{change.filename}?ref={head}",
    }
    if change.patch is not None:
        shape["patch"] = change.patch
    if change.previous_filename is not None:
        shape["previous_filename"] = change.previous_filename
    return shape
