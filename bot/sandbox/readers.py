"""Read-only views of the double's state for test assertions (mixed into GitHubDouble)."""

from __future__ import annotations

from bot.sandbox.branches import resolve_commit
from bot.sandbox.gitstore import Commit
from bot.sandbox.model import CheckRun, Comment, CommitStatus, Issue, Label, Reaction, State
from bot.sandbox.ratelimit import RateLimiter


class StateReaders:
    """What a test asserts on: files, branches, history, comments, labels, checks, budgets."""

    state: State
    limiter: RateLimiter

    def file_at(self, repo: str, ref: str, path: str) -> bytes | None:
        target = self.state.repo(repo)
        commit = resolve_commit(self.state, target, ref)
        if commit is None:
            return None
        entry = self.state.objects.lookup(self.state.objects.commits[commit].tree, path)
        return self.state.objects.blobs.get(entry.sha) if entry and entry.type == "blob" else None

    def paths_at(self, repo: str, ref: str) -> list[str]:
        """Every file path of `repo` at `ref` (a branch, tag or sha)."""
        commit = resolve_commit(self.state, self.state.repo(repo), ref)
        if commit is None:
            return []
        objects = self.state.objects
        return sorted(objects.flatten(objects.commits[commit].tree))

    def branch_sha(self, repo: str, branch: str) -> str | None:
        return self.state.repo(repo).branch(branch)

    def commit(self, sha: str) -> Commit:
        return self.state.objects.commits[sha]

    def commits(self, repo: str, branch: str) -> list[tuple[str, Commit]]:
        """First-parent history of `branch`, newest first, as (sha, commit) pairs."""
        sha = self.branch_sha(repo, branch)
        history: list[tuple[str, Commit]] = []
        while sha is not None:
            commit = self.state.objects.commits[sha]
            history.append((sha, commit))
            sha = commit.parents[0] if commit.parents else None
        return history

    def issue(self, repo: str, number: int) -> Issue:
        return self.state.repo(repo).issues[number]

    def pull(self, repo: str, number: int) -> Issue:
        issue = self.issue(repo, number)
        if issue.pull is None:
            raise KeyError(f"{repo}#{number} is not a pull request")
        return issue

    def comments(self, repo: str, number: int) -> list[Comment]:
        return [self.state.comments[i] for i in self.issue(repo, number).comment_ids]

    def labels(self, repo: str, number: int) -> list[str]:
        return list(self.issue(repo, number).labels)

    def milestone_of(self, repo: str, number: int) -> str | None:
        """The title of the milestone issue `number` is in (None: none)."""
        target = self.state.repo(repo)
        found = target.milestones.get(self.issue(repo, number).milestone or 0)
        return found.title if found is not None else None

    def milestones(self, repo: str) -> list[str]:
        """The titles of `repo`'s milestones, by number."""
        target = self.state.repo(repo)
        return [target.milestones[n].title for n in sorted(target.milestones)]

    def repo_labels(self, repo: str) -> dict[str, Label]:
        return {label.name: label for label in self.state.repo(repo).labels.values()}

    def check_runs(self, repo: str, sha: str) -> list[CheckRun]:
        full = self.state.repo(repo).full_name
        runs = self.state.check_runs.values()
        return [run for run in runs if run.repo == full and run.head_sha == sha]

    def statuses(self, repo: str, sha: str) -> list[CommitStatus]:
        return [status for status in self.state.repo(repo).statuses if status.sha == sha]

    def reactions(
        self, repo: str, *, comment_id: int | None = None, number: int | None = None
    ) -> list[Reaction]:
        if comment_id is not None:
            return list(self._comment(repo, comment_id).reactions)
        if number is None:
            raise ValueError("give comment_id or number")
        return list(self.issue(repo, number).reactions)

    def rate_limit_remaining(self, identity: str, resource: str = "core") -> int | None:
        bucket = self.limiter.buckets.get((identity, resource))
        return bucket.remaining if bucket else None

    def set_rate_limit_remaining(
        self, identity: str, remaining: int, resource: str = "core"
    ) -> None:
        self.limiter.set_remaining(identity, remaining, resource)

    def _comment(self, repo: str, comment_id: int) -> Comment:
        comment = self.state.comments[comment_id]
        if comment.repo.lower() != repo.lower():
            raise KeyError(f"comment {comment_id} is not in {repo}")
        return comment
