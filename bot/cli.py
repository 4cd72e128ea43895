"""The `kepbot` command: validate, new, index (and demo) on a local checkout.

It runs the same engine as the check run, so an author sees before pushing what the
bot will say. Exit codes: 0 fine, 1 validation errors, 2 a problem with the input
(bad configuration, unknown path or ref).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.engine.config import CONFIG_PATH, Config, ConfigError, json_schema, load_config
from bot.engine.findings import Finding, tally
from bot.engine.index import index_for
from bot.engine.scaffold import ScaffoldError, scaffold
from bot.engine.tree import GitTree, LocalTree, changed_paths
from bot.engine.validate import Report, validate_change, validate_tree
from bot.engine.verbs import help_text
from bot.release_report import add_parser as add_release_parser
from bot.report import add_parser as add_report_parser


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


def load_repo_config(root: Path, config_file: str | None) -> Config:
    path = Path(config_file) if config_file else root / CONFIG_PATH
    if config_file and not path.is_file():
        raise UsageError(f"configuration file {path} does not exist")
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    return load_config(text, path=str(path if config_file else CONFIG_PATH))


def _repo_root(path: str) -> Path:
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"{path} is not a directory")
    return root


def cmd_validate(args: argparse.Namespace) -> int:
    root = _repo_root(args.path)
    config = load_repo_config(root, args.config)
    head = LocalTree(root)
    if args.base:
        try:
            changed = changed_paths(root, args.base)
        except subprocess.CalledProcessError as exc:
            message = exc.stderr.decode(errors="replace").strip()
            raise UsageError(f"cannot compare with {args.base!r}: {message}") from None
        report = validate_change(config, head, GitTree(root, args.base), changed)
    else:
        report = validate_tree(config, head)
    print(render_report(report, args.format))
    return 1 if report.errors else 0


def render_report(report: Report, style: str) -> str:
    findings = sorted(report.findings, key=lambda f: (f.path, f.line, f.rule))
    if style == "json":
        return json.dumps(
            {
                "proposals": len(report.proposals),
                "errors": len(report.errors),
                "warnings": len(report.warnings),
                "findings": [vars(f) for f in findings],
                "moves": [vars(m) for m in report.moves],
            },
            indent=2,
        )
    if style == "github":
        lines = [_annotation(f) for f in findings]
    else:
        lines = [f"{f.path}:{f.line}: {f.severity} [{f.rule}] {f.message}" for f in findings]
    lines.append(tally(len(report.errors), len(report.warnings), len(report.proposals)))
    return "\n".join(lines)


def _escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _annotation(finding: Finding) -> str:
    """A GitHub Actions workflow command, so CI shows the finding on the line."""
    return (
        f"::{finding.severity} file={_escape(finding.path, True)},line={finding.line},"
        f"title={_escape(finding.rule, True)}::{_escape(finding.message)}"
    )


def cmd_index(args: argparse.Namespace) -> int:
    root = _repo_root(args.path)
    config = load_repo_config(root, args.config)
    target = args.output or config.index.path
    if not target:
        raise UsageError(
            f"no index file is configured: set `index: {{path: ...}}` in {CONFIG_PATH} "
            "or pass --output"
        )
    text = index_for(config, LocalTree(root))
    destination = root / target
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    root = _repo_root(args.path)
    config = load_repo_config(root, args.config)
    try:
        files = scaffold(
            config,
            LocalTree(root),
            title=args.title,
            area=args.area,
            author=args.author,
            today=datetime.date.today(),
            now=datetime.datetime.now(datetime.UTC),
        )
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    for path, text in files.items():
        destination = root / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        print(f"created {path}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def cmd_commands(args: argparse.Namespace) -> int:
    """The command reference, from the same registry the bot's `help` answer uses."""
    root = _repo_root(args.path)
    print(help_text(load_repo_config(root, args.config)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import main as demo_main  # the double is only loaded when asked for

    return demo_main()


def cmd_worker(args: argparse.Namespace) -> int:
    """A worker process of hosted mode (needs KEPBOT_REDIS_URL and the `hosted` extra)."""
    from bot.hosted import missing_extra

    problem = missing_extra()
    if problem is not None:
        raise UsageError(problem)
    from bot.hosted.worker import main as worker_main  # loaded only when asked for

    return worker_main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kepbot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check the proposals of a checkout")
    validate.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    validate.add_argument("--base", help="validate only proposals changed since this git ref")
    validate.add_argument("--format", choices=["text", "json", "github"], default="text")
    validate.add_argument("--config", help=f"configuration file (default: PATH/{CONFIG_PATH})")
    validate.set_defaults(run=cmd_validate)

    new = sub.add_parser("new", help="scaffold a proposal from the preset's template")
    new.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    new.add_argument("--title", required=True)
    new.add_argument("--area", help="the area (SIG) that owns the proposal")
    new.add_argument("--author", default=None, help="GitHub login of the author")
    new.add_argument("--config")
    new.set_defaults(run=cmd_new)

    index = sub.add_parser("index", help="write the proposal index")
    index.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    index.add_argument("--output", help="index file (default: the configured index path)")
    index.add_argument("--config")
    index.set_defaults(run=cmd_index)

    schema = sub.add_parser("schema", help=f"print the JSON Schema of {CONFIG_PATH}")
    schema.set_defaults(run=cmd_schema)

    commands = sub.add_parser("commands", help="print the slash-command reference")
    commands.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    commands.add_argument("--config")
    commands.set_defaults(run=cmd_commands)

    add_report_parser(sub)
    add_release_parser(sub)

    demo = sub.add_parser("demo", help="play a proposal's life against the built-in GitHub double")
    demo.set_defaults(run=cmd_demo)

    worker = sub.add_parser(
        "worker", help="hosted mode: run the deliveries queued in Redis (KEPBOT_REDIS_URL)"
    )
    worker.set_defaults(run=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"kepbot: invalid configuration\n{exc.render()}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"kepbot: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
