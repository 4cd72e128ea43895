"""GitHubDouble: the test-facing API of the double — seed state, read it back, inject faults,
and get the aiohttp application that serves it.

Seeding helpers act with GitHub's own powers (no permission checks, no branch protection),
the way a person using the web UI or `git push` would; the HTTP API applies every rule.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping

from aiohttp import web

from bot.sandbox import pulls
from bot.sandbox.auth import mint_installation_token
from bot.sandbox.branches import commit_changes, pushed, signature_of
from bot.sandbox.faults import Fault, FaultInjector
from bot.sandbox.model import (
    DEFAULT_INSTALLATION_PERMISSIONS,
    ROLE_RANK,
    App,
    Comment,
    Installation,
    Issue,
    Label,
    Milestone,
    Protection,
    Repo,
    Review,
    Settings,
    State,
    Team,
    Token,
    User,
)
from bot.sandbox.pipeline import RecordedRequest, Runtime, build_application
from bot.sandbox.ratelimit import RateLimiter
from bot.sandbox.readers import StateReaders
from bot.sandbox.views import Urls

FileContents = Mapping[str, str | bytes | None]  # None deletes the path
EDITORS = ("write", "maintain", "admin")  # besides its author, who may edit a comment


def _encode(files: FileContents) -> dict[str, bytes | None]:
    return {
        path.strip("/"): (content.encode() if isinstance(content, str) else content)
        for path, content in files.items()
    }


class GitHubDouble(StateReaders):
    """An in-memory GitHub speaking the REST subset the bot uses."""

    def __init__(
        self,
        *,
        app_id: int = 1,
        app_slug: str = "kepbot",
        app_name: str | None = None,
        app_owner: str = "kepbot-maintainers",
        app_public_key: str | bytes | None = None,
        token_lifetime: float = 3600.0,
        rate_limit: int = 5000,
        exhausted_status: int = 403,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = app_public_key.decode() if isinstance(app_public_key, bytes) else app_public_key
        app = App(app_id, app_slug, app_name or app_slug, app_owner, 0, key, "")
        self.settings = Settings(
            token_lifetime=token_lifetime, rate_limit=rate_limit, exhausted_status=exhausted_status
        )
        self.state = State(app, self.settings, clock)
        app.created_at = self.state.now()
        app.bot_user_id = self.state.user(app.bot_login, "Bot").id
        self.limiter = RateLimiter(self.settings, clock)
        self.faults = FaultInjector()
        self.requests: list[RecordedRequest] = []
        # Where webhook payloads built by bot.sandbox.payloads point; `serve` updates it.
        self.urls = Urls(api="https://api.github.com", web="https://github.com")

    @property
    def bot_login(self) -> str:
        return self.state.app.bot_login

    def app(self, base_path: str = "") -> web.Application:
        """The aiohttp application; `base_path="/api/v3"` serves GHES-style paths."""
        runtime = Runtime(self.state, self.limiter, self.faults, self.requests)
        return build_application(runtime, base_path)

    # -- accounts and access -------------------------------------------------------------

    def add_user(self, login: str, *, name: str | None = None, email: str | None = None) -> User:
        user = self.state.user(login)
        user.name, user.email = name or user.name, email or user.email
        return user

    def add_org(self, login: str) -> User:
        org = self.state.user(login, "Organization")
        org.type = "Organization"
        return org

    def add_org_member(self, org: str, login: str, role: str = "member") -> None:
        self.add_org(org)
        self.state.user(login)
        self.state.org_members.setdefault(org.lower(), {})[login.lower()] = role

    def add_team_member(self, org: str, team: str, login: str, role: str = "member") -> None:
        """Put `login` in `org`'s team `team` (slug), creating both as needed."""
        if self.state.org_role(org, login) is None:
            self.add_org_member(org, login)
        key = (org.lower(), team.lower())
        if key not in self.state.teams:
            self.state.teams[key] = Team(self.state.next_id("team"), org, team, team)
        self.state.teams[key].members[login.lower()] = role

    def set_permission(self, repo: str, login: str, role: str) -> None:
        """Make `login` a collaborator with role admin|maintain|write|triage|read (or none)."""
        if role not in ROLE_RANK:
            raise ValueError(f"unknown role {role!r}")
        self.state.user(login)
        target = self.state.repo(repo)
        if role == "none":
            target.collaborators.pop(login.lower(), None)
        else:
            target.collaborators[login.lower()] = role

    def add_installation(
        self,
        account: str,
        repos: Iterable[str] | None = None,
        *,
        permissions: Mapping[str, str] | None = None,
        installation_id: int | None = None,
    ) -> int:
        """Install the App on `account`: on every repository, or only on `repos`."""
        self.state.user(account)
        number = installation_id or self.state.next_id("installation")
        chosen = None if repos is None else [self.state.repo(name).full_name for name in repos]
        granted = dict(permissions or DEFAULT_INSTALLATION_PERMISSIONS)
        granted.setdefault("metadata", "read")
        self.state.installations[number] = Installation(
            number, account, chosen, granted, self.state.now()
        )
        return number

    def installation_token(self, installation_id: int) -> str:
        """A fresh installation token, as if minted through the JWT flow."""
        return mint_installation_token(self.state, installation_id).value

    def add_personal_token(self, login: str, token: str | None = None) -> str:
        """A `GITHUB_TOKEN`-style token that acts as `login`."""
        value = token or f"ghp_{secrets.token_hex(18)}"
        self.state.user(login)
        self.state.tokens[value] = Token(value=value, login=login)
        return value

    # -- repositories and git -------------------------------------------------------------

    def add_repo(
        self,
        owner: str,
        name: str,
        files: FileContents | None = None,
        *,
        default_branch: str = "main",
        private: bool = False,
    ) -> str:
        """Create `owner/name` with one commit holding `files` (no commit when empty)."""
        self.state.user(owner)
        repo = Repo(
            self.state.next_id("repo"), owner, name, private, default_branch, self.state.now()
        )
        self.state.repos[repo.full_name.lower()] = repo
        if files:
            self.push(repo.full_name, default_branch, files, "Initial commit", owner)
        return repo.full_name

    def set_visibility(self, repo: str, *, private: bool) -> None:
        """Make `repo` private or public, as its admin does in its settings (its payloads and
        REST objects then carry the new `private` flag and `visibility`)."""
        self.state.repo(repo).private = private

    def fork(self, repo: str, owner: str, name: str | None = None) -> str:
        """Fork `repo` to `owner` with all its branches (objects are shared, as in a network)."""
        source = self.state.repo(repo)
        existing = self.state.find_repo(owner, name or source.name)
        if existing is not None:
            return existing.full_name
        full = self.add_repo(owner, name or source.name, default_branch=source.default_branch)
        fork = self.state.repo(full)
        fork.parent, fork.private = source.full_name, source.private
        fork.refs = {ref: sha for ref, sha in source.refs.items() if ref.startswith("refs/heads/")}
        return full

    def push(
        self,
        repo: str,
        branch: str,
        files: FileContents,
        message: str = "Update files",
        author: str | None = None,
    ) -> str:
        """Commit `files` on `branch` (created from the default branch if missing)."""
        target = self.state.repo(repo)
        parent = target.branch(branch) or target.branch(target.default_branch)
        who = signature_of(self.state, author or target.owner)
        sha = commit_changes(self.state, target, parent, _encode(files), message, who)
        target.refs[f"refs/heads/{branch}"] = sha
        pushed(self.state, target, branch)
        return sha

    def protect_branch(
        self,
        repo: str,
        branch: str,
        *,
        require_pull_request: bool = True,
        required_checks: Iterable[str] = (),
        bypass: Iterable[str] = (),
        allow_force_push: bool = False,
    ) -> None:
        self.state.repo(repo).protections[branch] = Protection(
            require_pull_request, tuple(required_checks), frozenset(bypass), allow_force_push
        )

    # -- issues and pull requests ---------------------------------------------------------

    def open_issue(
        self,
        repo: str,
        title: str,
        body: str = "",
        author: str = "octocat",
        *,
        number: int | None = None,
    ) -> int:
        """Open an issue (numbered `number` when given, as an old repository's can be)."""
        target = self.state.repo(repo)
        self.state.user(author)
        now = self.state.now()
        number = target.next_number() if number is None else number
        if number in target.issues:
            raise ValueError(f"{repo}#{number} exists")
        target.issues[number] = Issue(
            self.state.next_id("issue"), number, title, body, author, now, now
        )
        return number

    def open_pull_request(
        self,
        repo: str,
        head_branch: str,
        files_changed: FileContents,
        title: str,
        body: str | None = "",
        author: str = "octocat",
        fork_owner: str | None = None,
        *,
        base: str | None = None,
        draft: bool = False,
        maintainer_can_modify: bool = True,
        message: str | None = None,
    ) -> int:
        """Commit `files_changed` on `head_branch` (in a fork of `fork_owner`) and open a PR."""
        target = self.state.repo(repo)
        head_repo = self.fork(repo, fork_owner) if fork_owner else target.full_name
        base_ref = base or target.default_branch
        if self.state.repo(head_repo).branch(head_branch) is None:
            base_sha = target.branch(base_ref)
            if base_sha is None:
                raise ValueError(f"{repo} has no branch {base_ref}")
            self.state.repo(head_repo).refs[f"refs/heads/{head_branch}"] = base_sha
        self.push(head_repo, head_branch, files_changed, message or title, author)
        issue = pulls.open_pull(
            self.state,
            target,
            head_repo=self.state.repo(head_repo),
            head_ref=head_branch,
            base_ref=base_ref,
            title=title,
            body=body,
            author=author,
            draft=draft,
            maintainer_can_modify=maintainer_can_modify,
        )
        return issue.number

    def update_pull_request(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
        by: str | None = None,
    ) -> dict[str, dict[str, str]]:
        """Edit or close/reopen a PR; return the `changes` an `edited` webhook would carry."""
        target, issue = self.state.repo(repo), self.pull(repo, number)
        changes: dict[str, dict[str, str]] = {}
        if title is not None and title != issue.title:
            changes["title"], issue.title = {"from": issue.title}, title
        if body is not None and body != issue.body:
            changes["body"], issue.body = {"from": issue.body or ""}, body
        if changes:
            issue.edited_by = by or issue.user  # the sender of the `edited` delivery
        if state is not None:
            pulls.set_state(self.state, target, issue, state, by or issue.user)
        issue.updated_at = self.state.now()
        return changes

    def merge(self, repo: str, number: int, *, method: str = "merge", by: str | None = None) -> str:
        """Merge as a maintainer would in the UI (conflicts and required checks still apply)."""
        target = self.state.repo(repo)
        issue = self.pull(repo, number)
        return pulls.merge(self.state, target, issue, actor=by or target.owner, method=method)

    def set_mergeable(self, repo: str, number: int, value: bool | None) -> None:
        """Override what GitHub reports: None is "not computed yet", False blocks merging."""
        pr = pulls.pull_of(self.pull(repo, number))
        pr.mergeable_forced, pr.mergeable_override = True, value

    def add_review(
        self, repo: str, number: int, user: str, state: str = "APPROVED", body: str = ""
    ) -> Review:
        issue = self.pull(repo, number)
        pr = pulls.pull_of(issue)
        self.state.user(user)
        review = Review(
            self.state.next_id("review"),
            user,
            state,
            body,
            pulls.head_sha(self.state, pr),
            self.state.now(),
        )
        pr.reviews.append(review)
        return review

    def add_comment(self, repo: str, number: int, body: str, user: str) -> Comment:
        target = self.state.repo(repo)
        issue = target.issues[number]
        self.state.user(user)
        now = self.state.now()
        comment = Comment(
            self.state.next_id("comment"), target.full_name, number, user, body, now, now
        )
        self.state.comments[comment.id] = comment
        issue.comment_ids.append(comment.id)
        issue.updated_at = now  # as a comment made through the API (routes_issues) does
        return comment

    def edit_comment(
        self, repo: str, comment_id: int, body: str, *, by: str | None = None
    ) -> Comment:
        """Edit a comment as its author, or as `by`: GitHub lets its author and anyone with
        write access or more edit it. As on GitHub, the comment keeps its `user` and only its
        `updated_at` moves; the `edited` delivery (bot.sandbox.payloads) names `by` as sender."""
        comment = self._comment(repo, comment_id)
        editor = by or comment.user
        own = editor.lower() == comment.user.lower()
        if not own and self.state.role(self.state.repo(repo), editor) not in EDITORS:
            raise PermissionError(f"{editor} may not edit comment {comment_id} of {comment.user}")
        comment.previous_body, comment.body = comment.body, body
        comment.updated_at = self.state.now()
        comment.edited_by = editor
        return comment

    def delete_comment(self, repo: str, comment_id: int) -> Comment:
        comment = self._comment(repo, comment_id)
        comment.deleted = True
        self.state.repo(repo).issues[comment.number].comment_ids.remove(comment_id)
        return comment

    def add_label(
        self, repo: str, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        target = self.state.repo(repo)
        label = Label(self.state.next_id("label"), name, color, description)
        target.labels[name.lower()] = label
        return label

    def add_milestone(self, repo: str, title: str, author: str = "octocat") -> int:
        """A new open milestone of `repo`; its number."""
        target = self.state.repo(repo)
        now = self.state.now()
        number = max(target.milestones, default=0) + 1
        made = Milestone(self.state.next_id("milestone"), number, title, author, now, now)
        target.milestones[number] = made
        return number

    def set_milestone(self, repo: str, number: int, title: str | None) -> None:
        """Put issue `number` in the milestone titled `title` (made when missing; None: none),
        as a person would, moving its `updated_at`."""
        target = self.state.repo(repo)
        found = next((m.number for m in target.milestones.values() if m.title == title), None)
        if title is not None and found is None:
            found = self.add_milestone(repo, title)
        issue = target.issues[number]
        issue.milestone = found
        issue.updated_at = self.state.now()

    def label_issue(self, repo: str, number: int, *names: str) -> None:
        target = self.state.repo(repo)
        issue = target.issues[number]
        for name in names:
            label = target.labels.get(name.lower()) or self.add_label(repo, name)
            if label.name not in issue.labels:
                issue.labels.append(label.name)

    # -- fault injection ------------------------------------------------------------------

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int | None = None,
        times: int | None = 1,
        headers: Mapping[str, str | None] | None = None,
        body: object = None,
        latency: float = 0.0,
    ) -> Fault:
        """Answer the next `times` matching requests with `status` (after `latency` seconds).

        `path_regex` is searched in the path without the base path. 403/429 default to the
        secondary-rate-limit body with `retry-after: 60` (`headers={"retry-after": None}`
        leaves it out, as GitHub sometimes does); `status=None` only adds latency.
        """
        fault = Fault(
            method.upper(),
            re.compile(path_regex),
            status,
            times,
            dict(headers or {}),
            body,
            latency,
        )
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.faults.clear()
