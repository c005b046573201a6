"""Operator commands: check-env, migrate, port."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from imgapp.settings import check_settings, get_settings, production_problems

_MARK = {
    "ok": "ok",
    "missing": "missing",
    "insecure default": "INSECURE",
    "invalid": "INVALID",
}


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def cmd_check_env(args: argparse.Namespace) -> int:
    """Print each variable's status; non-zero when production settings are unusable."""
    settings = get_settings()
    problems = production_problems(settings)
    if not args.quiet:
        _out(f"imgapp settings ({settings.imgapp_env.value})")
        for check in check_settings(settings):
            _out(f"  {check.name:<26} {_MARK[check.status]:<9} {check.detail}")
    if problems:
        names = ", ".join(c.name for c in problems)
        sys.stderr.write(f"Production cannot start: fix {names}.\n")
        return 1
    if not args.quiet:
        _out("Settings are usable.")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply every pending migration."""
    from imgapp import migrations  # noqa: PLC0415 - alembic loads only for this command

    migrations.upgrade(revision=args.revision)
    return 0


def cmd_port(_args: argparse.Namespace) -> int:
    """Print the port the app serves on (used by the run script)."""
    _out(str(get_settings().imgapp_port))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m imgapp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check-env", help="report every setting: ok / missing / insecure")
    check.add_argument("--quiet", action="store_true", help="print only problems")
    check.set_defaults(func=cmd_check_env)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(func=cmd_migrate)
    port = sub.add_parser("port", help="print the serving port")
    port.set_defaults(func=cmd_port)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)
