"""CODEOWNERS patterns and precedence, as GitHub documents them (bot.engine.codeowners)."""

from __future__ import annotations

import pytest

from bot.engine.codeowners import CODEOWNERS_PATHS, matches, owners_for, parse, rule_for

# (pattern, path, matches?)
PATTERNS = [
    # a pattern without a slash matches at any depth, files and folders alike
    ("*", "README.md", True),
    ("*", "keps/sig-node/1234-x/kep.yaml", True),
    ("*.js", "app.js", True),
    ("*.js", "src/deep/app.js", True),
    ("*.js", "src/app.jsx", False),
    ("kep.yaml", "keps/sig-node/1-x/kep.yaml", True),
    ("kep.yaml", "keps/sig-node/1-x/kep.yaml.bak", False),
    ("logs", "build/logs/today.txt", True),
    ("logs", "build/catalogs/today.txt", False),
    # a trailing slash is a folder at any depth, everything under it
    ("apps/", "apps/web/index.js", True),
    ("apps/", "src/apps/web/index.js", True),
    ("apps/", "apps", False),
    ("apps/", "myapps/x", False),
    # a leading or middle slash anchors at the root
    ("/docs/", "docs/index.md", True),
    ("/docs/", "docs/a/b/c.md", True),
    ("/docs/", "src/docs/index.md", False),
    ("/build/logs/", "build/logs/x/y.log", True),
    ("/build/logs/", "x/build/logs/y.log", False),
    ("keps/sig-node/", "keps/sig-node/1234-x/kep.yaml", True),
    ("keps/sig-node/", "other/keps/sig-node/1234-x/kep.yaml", False),
    ("keps/sig-node", "keps/sig-node/1234-x/kep.yaml", True),
    ("keps/sig-node", "keps/sig-node-extra/1/kep.yaml", False),
    ("/README.md", "README.md", True),
    ("/README.md", "docs/README.md", False),
    # `docs/*` covers the folder's direct entries only
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    # `*` and `?` stay within a segment
    ("keps/*/kep.yaml", "keps/sig-node/kep.yaml", True),
    ("keps/*/kep.yaml", "keps/sig-node/1-x/kep.yaml", False),
    ("keps/sig-*/", "keps/sig-node/1-x/kep.yaml", True),
    ("keps/sig-*/", "keps/wg-x/1-x/kep.yaml", False),
    ("gep-?/", "geps/gep-1/index.md", True),
    ("gep-?/", "geps/gep-12/index.md", False),
    # `**` spans segments
    ("**/logs", "build/logs/a.txt", True),
    ("**/logs", "deeply/nested/logs/a.txt", True),
    ("**/logs", "logs/a.txt", True),
    ("keps/**/kep.yaml", "keps/sig-node/1-x/kep.yaml", True),
    ("keps/**/kep.yaml", "keps/kep.yaml", True),
    ("keps/**/kep.yaml", "other/kep.yaml", False),
    ("keps/**", "keps/sig-node/1-x/README.md", True),
    ("keps/**", "kepsx/README.md", False),
    # case-sensitive, escapes kept literal
    ("/Docs/", "docs/index.md", False),
    ("path\\ with\\ spaces/", "path with spaces/a.md", True),
    ("a.md", "axmd", False),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), PATTERNS)
def test_pattern_matching(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


CODEOWNERS = """\
# Default owners for everything
*                       @global-owner1 @global-owner2

*.js    @js-owner  # inline comment
*.go    docs@example.com
/keps/                  @org/enhancements
keps/sig-node/          @org/sig-node-leads @Dawn
keps/sig-node/9-exempt/
/apps/ @octocat
/apps/github @doctocat
!keps/sig-node/negated/ @nobody
/bad/ not-an-owner
\\#hash.md @hash-owner
"""

# (path, owners by the last matching line)
OWNERS = [
    ("README.md", ["@global-owner1", "@global-owner2"]),
    ("src/app.js", ["@js-owner"]),
    ("main.go", ["docs@example.com"]),
    ("keps/sig-apps/1-x/kep.yaml", ["@org/enhancements"]),
    ("keps/sig-node/1234-x/kep.yaml", ["@org/sig-node-leads", "@Dawn"]),
    ("keps/sig-node/9-exempt/kep.yaml", []),  # a pattern without owners: nobody owns it
    ("keps/sig-node/negated/kep.yaml", ["@org/sig-node-leads", "@Dawn"]),  # `!` is skipped
    ("bad/x.md", ["@global-owner1", "@global-owner2"]),  # invalid owner: the line is skipped
    ("apps/web/x.rb", ["@octocat"]),
    ("apps/github/x.rb", ["@doctocat"]),
    ("#hash.md", ["@hash-owner"]),
]


@pytest.mark.parametrize(("path", "expected"), OWNERS)
def test_last_matching_line_wins(path: str, expected: list[str]) -> None:
    assert owners_for(CODEOWNERS, path) == expected


def test_rule_reports_pattern_and_line() -> None:
    rule = rule_for(CODEOWNERS, "/keps/sig-node/1234-x/kep.yaml")
    assert rule is not None
    assert (rule.pattern, rule.line) == ("keps/sig-node/", 7)


def test_comments_blank_lines_and_invalid_lines_make_no_rules() -> None:
    patterns = [rule.pattern for rule in parse(CODEOWNERS)]
    assert patterns == [
        "*",
        "*.js",
        "*.go",
        "/keps/",
        "keps/sig-node/",
        "keps/sig-node/9-exempt/",
        "/apps/",
        "/apps/github",
        "\\#hash.md",
    ]


def test_no_rule_means_no_owners() -> None:
    assert owners_for("/docs/ @docs\n", "src/main.py") == []
    assert rule_for("", "anything") is None


def test_where_github_looks_in_order() -> None:
    assert CODEOWNERS_PATHS == (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
