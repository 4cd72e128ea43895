"""The thin GitHub layer: the only code that talks to GitHub.

- `auth`: App JWT and installation tokens, or a personal token (`Credentials`).
- `retry`: when a request is tried again and how long to wait (5xx, rate limits).
- `client`: `GitHubClient` and its per-installation gidgethub objects (`KepbotAPI`).
- `repo`: reading files, conditional single-file and multi-file writes.
- `repo_config`: the repository's `.github/kepbot.yml`, from the default branch only.
- `gateway`: `GitHub`, the one way to GitHub for everything outside this package.
- `shapes`: the GitHub objects the gateway returns, as types (`Pull`, `Comment`...).
"""
