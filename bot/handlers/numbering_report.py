"""What a numbering job tells people: its comments on the PR, and the follow-up PR.

This module owns the comments on a merged PR (the numbers assigned, each linking to its
proposal at the new commit, and the proposals still without a number) and the way around
a base branch that refuses the bot's direct commits: the change goes to the branch
`kepbot/number-pr-<n>` and a follow-up PR, and the original PR says so.
"""

from __future__ import annotations

from urllib.parse import quote

from bot.engine.config import Config
from bot.engine.numbering import format_number
from bot.github.comments import Thread
from bot.github.numbers import followup_branch
from bot.github.shapes import Repository
from bot.handlers.context import HandlerContext
from bot.handlers.numbering_job import Numbering, Outcome


def _label(config: Config, number: int) -> str:
    return f"{config.implementations.prefix}-{format_number(config, number)}"


def _link(config: Config, repo: Repository, ref: str, path: str) -> str:
    kind = "tree" if config.proposals.name_of == "folder" else "blob"
    target = path.rsplit("/", 1)[0] if kind == "tree" else path
    return f"[`{target}`]({repo['html_url']}/{kind}/{ref}/{quote(target)})"


def numbers_text(config: Config, repo: Repository, outcome: Outcome) -> list[str]:
    ref = outcome.commit or outcome.branch or ""
    return [
        f"- **{_label(config, number)}**: {_link(config, repo, ref, path)}"
        for path, number in sorted(outcome.numbers.items(), key=lambda item: item[1])
    ]


async def report(
    ctx: HandlerContext,
    config: Config,
    repo: Repository,
    number: int,
    outcome: Outcome,
    thread: Thread | None = None,
) -> None:
    """Comment what the job did on the PR, once per marker; `thread`, the PR's comments as
    read in this delivery, is what a comment already posted is looked for in."""
    name, github, me = repo["full_name"], ctx.github, ctx.bot_login
    if outcome.numbers and outcome.followup is None:
        lines = ["Numbers assigned at merge:", "", *numbers_text(config, repo, outcome)]
        await github.post_once(name, number, f"numbers/{number}", "\n".join(lines), me, thread)
    if outcome.followup is not None:
        lines = [
            f"The branch `{repo['default_branch']}` refuses the bot's direct commits, so the "
            f"numbers and the index are in #{outcome.followup['number']}; please merge it.",
            "",
            *numbers_text(config, repo, outcome),
        ]
        marker = f"numbers-followup/{number}"
        await github.post_once(name, number, marker, "\n".join(lines), me, thread)
    if outcome.problems:
        lines = ["These proposals still have no number:", ""]
        lines += [f"- `{path}`: {why}" for path, why in sorted(outcome.problems.items())]
        marker = f"numbering-problems/{number}"
        await github.post_once(name, number, marker, "\n".join(lines), me, thread)


async def follow_up(
    job: Numbering, config: Config, repo: Repository, base: str, message: str
) -> Outcome:
    name, number = repo["full_name"], int(job.pull["number"])
    branch = followup_branch(number)
    ref = await job.github.branch_ref(name, base)
    await job.github.create_branch(name, branch, str(ref["object"]["sha"]))
    outcome = job.outcome(await job.commit(name, branch, message), branch)
    body = [f"Numbers and index for #{number}, which `{base}` refused as a direct commit.", ""]
    body += numbers_text(config, repo, outcome)
    title = f"Assign proposal numbers for #{number}"
    outcome.followup = await job.github.open_followup(name, branch, base, title, "\n".join(body))
    return outcome
