"""Pull-request semantics: the compared range, files, mergeability, and merging into the base."""

from __future__ import annotations

from bot.sandbox.branches import resolve_commit, signature_of
from bot.sandbox.diffing import FileChange, diff_trees
from bot.sandbox.errors import ApiError
from bot.sandbox.gitstore import Commit, FlatTree, Signature, merge_trees
from bot.sandbox.model import Issue, PullRequest, Repo, State

GOOD_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


def pull_of(issue: Issue) -> PullRequest:
    if issue.pull is None:
        raise ApiError(404, "Not Found")
    return issue.pull


def head_sha(state: State, pr: PullRequest) -> str:
    """The head branch's commit while it exists and the PR is open; else the last one seen."""
    if pr.frozen is None:
        head_repo = state.repo(pr.head_repo)
        live = head_repo.branch(pr.head_ref)
        if live is not None:
            pr.head_sha = live
    return pr.head_sha


def base_sha(state: State, repo: Repo, pr: PullRequest) -> str:
    sha = repo.branch(pr.base_ref)
    if sha is None:
        raise ApiError(422, f"Base branch {pr.base_ref} does not exist")
    return sha


def compared_range(state: State, repo: Repo, pr: PullRequest) -> tuple[str, str]:
    """(merge base, head): the three-dot range whose diff the PR shows."""
    if pr.frozen is not None:
        return pr.frozen
    head = head_sha(state, pr)
    base = state.objects.merge_base(base_sha(state, repo, pr), head)
    return (base or base_sha(state, repo, pr)), head


def _flat(state: State, commit: str) -> FlatTree:
    return state.objects.flatten(state.objects.commits[commit].tree)


def changed_files(state: State, repo: Repo, pr: PullRequest) -> list[FileChange]:
    base, head = compared_range(state, repo, pr)
    return diff_trees(state.objects, _flat(state, base), _flat(state, head))


def pull_commits(state: State, repo: Repo, pr: PullRequest) -> list[str]:
    base, head = compared_range(state, repo, pr)
    return state.objects.commits_between(base, head)


def _merge_result(state: State, repo: Repo, pr: PullRequest) -> tuple[FlatTree, list[str]]:
    base, head = compared_range(state, repo, pr)
    target = base_sha(state, repo, pr)
    return merge_trees(state.objects, _flat(state, base), _flat(state, target), _flat(state, head))


def mergeable(state: State, repo: Repo, pr: PullRequest) -> bool | None:
    if pr.mergeable_forced:
        return pr.mergeable_override
    if pr.merged or pr.frozen is not None:
        return None
    return not _merge_result(state, repo, pr)[1]


def unmet_check(state: State, repo: Repo, pr: PullRequest) -> str | None:
    """The first required status check of the base branch the head does not pass."""
    rule = repo.protections.get(pr.base_ref)
    head = head_sha(state, pr)
    for context in rule.required_checks if rule else ():
        runs = [
            run
            for run in state.check_runs.values()
            if run.repo == repo.full_name and run.head_sha == head and run.name == context
        ]
        statuses = [s for s in repo.statuses if s.sha == head and s.context == context]
        latest_run = max(runs, key=lambda run: run.id, default=None)
        latest_status = max(statuses, key=lambda s: s.id, default=None)
        if latest_run is not None and latest_run.conclusion in GOOD_CONCLUSIONS:
            continue
        if latest_status is not None and latest_status.state == "success":
            continue
        failed = (latest_run is not None and latest_run.status == "completed") or (
            latest_status is not None and latest_status.state in ("failure", "error")
        )
        verdict = "is failing" if failed else "is expected"
        return f'Required status check "{context}" {verdict}.'
    return None


def mergeable_state(state: State, repo: Repo, pr: PullRequest) -> str:
    verdict = mergeable(state, repo, pr)
    if verdict is None:
        return "unknown"
    if not verdict:
        return "dirty"
    if pr.draft:
        return "draft"
    return "blocked" if unmet_check(state, repo, pr) else "clean"


def _github_signature(state: State) -> Signature:
    return Signature("GitHub", "noreply@github.com", state.now())


def _rebase(state: State, repo: Repo, pr: PullRequest, onto: str) -> str:
    base, head = compared_range(state, repo, pr)
    current = onto
    for sha in state.objects.commits_between(base, head):
        commit = state.objects.commits[sha]
        parent = commit.parents[0] if commit.parents else base
        tree, conflicts = merge_trees(
            state.objects, _flat(state, parent), _flat(state, current), _flat(state, sha)
        )
        if conflicts:
            raise ApiError(405, "Pull Request is not mergeable")
        replayed = Commit(
            state.objects.build(tree),
            (current,),
            commit.message,
            commit.author,
            _github_signature(state),
        )
        current = state.objects.put_commit(replayed)
    return current


def merge(
    state: State,
    repo: Repo,
    issue: Issue,
    *,
    actor: str,
    method: str = "merge",
    title: str | None = None,
    message: str | None = None,
    expected_head: str | None = None,
) -> str:
    """Merge the PR into its base branch as PUT pulls/{n}/merge does; return the new base sha."""
    pr = pull_of(issue)
    if issue.state != "open" or pr.merged:
        raise ApiError(405, "Pull Request is not mergeable")
    head = head_sha(state, pr)
    if expected_head is not None and expected_head != head:
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    if pr.draft:
        raise ApiError(405, "Pull Request is still a draft")
    if pr.mergeable_forced and pr.mergeable_override is False:
        raise ApiError(405, "Pull Request is not mergeable")
    unmet = unmet_check(state, repo, pr)
    if unmet is not None:
        raise ApiError(405, unmet)
    tree, conflicts = _merge_result(state, repo, pr)
    if conflicts:
        raise ApiError(405, "Pull Request is not mergeable")
    target = base_sha(state, repo, pr)
    frozen = compared_range(state, repo, pr)
    if method == "rebase":
        new_sha = _rebase(state, repo, pr, target)
    else:
        if method == "squash":
            headline = title or f"{issue.title} (#{issue.number})"
            parents: tuple[str, ...] = (target,)
            author = signature_of(state, issue.user)
        else:
            owner = pr.head_repo.partition("/")[0]
            headline = title or f"Merge pull request #{issue.number} from {owner}/{pr.head_ref}"
            parents = (target, head)
            author = signature_of(state, actor)
        body = issue.title if message is None and method == "merge" else message
        text = f"{headline}\n\n{body}" if body else headline
        commit = Commit(state.objects.build(tree), parents, text, author, _github_signature(state))
        new_sha = state.objects.put_commit(commit)
    repo.refs[f"refs/heads/{pr.base_ref}"] = new_sha
    repo.pushed_at = issue.closed_at = issue.updated_at = pr.merged_at = state.now()
    issue.state, issue.closed_by = "closed", actor
    pr.merged, pr.merged_by, pr.merge_commit_sha, pr.frozen = True, actor, new_sha, frozen
    return new_sha


def open_pull(
    state: State,
    repo: Repo,
    *,
    head_repo: Repo,
    head_ref: str,
    base_ref: str,
    title: str,
    body: str | None,
    author: str,
    draft: bool = False,
    maintainer_can_modify: bool = True,
) -> Issue:
    head = resolve_commit(state, head_repo, head_ref)
    if head is None or repo.branch(base_ref) is None:
        raise ApiError(422, "Validation Failed")
    now = state.now()
    pr = PullRequest(
        id=state.next_id("pull"),
        head_repo=head_repo.full_name,
        head_ref=head_ref,
        base_ref=base_ref,
        head_sha=head,
        draft=draft,
        maintainer_can_modify=maintainer_can_modify and head_repo is not repo,
    )
    number = repo.next_number()
    issue = Issue(state.next_id("issue"), number, title, body, author, now, now, pull=pr)
    repo.issues[number] = issue
    return issue


def set_state(state: State, repo: Repo, issue: Issue, new_state: str, actor: str) -> None:
    """Close or reopen; a closed PR's diff stays as it was when it closed."""
    if new_state == issue.state:
        return
    pr = issue.pull
    if new_state == "closed":
        if pr is not None:
            pr.frozen = compared_range(state, repo, pr)
        issue.closed_at, issue.closed_by = state.now(), actor
    else:
        if pr is not None:
            if pr.merged or state.repo(pr.head_repo).branch(pr.head_ref) is None:
                raise ApiError(422, "Validation Failed")
            pr.frozen = None
        issue.closed_at = issue.closed_by = None
    issue.state = new_state
    issue.updated_at = state.now()
