"""Operator commands: check-env, migrate, credits grant/check, port."""

from __future__ import annotations

import argparse
import sys
import uuid
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


def _fail(message: str) -> int:
    sys.stderr.write(message + "\n")
    return 1


def cmd_credits_grant(args: argparse.Namespace) -> int:
    """Give (or with a negative N take) credits, as an audited operator adjustment."""
    from imgapp import db  # noqa: PLC0415 - the database loads only for commands that use it
    from imgapp.errors import describe  # noqa: PLC0415
    from imgapp.services import accounts, ledger  # noqa: PLC0415
    from imgapp.services.errors import ImgappError, NotFound  # noqa: PLC0415

    if not args.reason.strip():
        return _fail("--reason must say why (it is kept in the ledger and the audit log).")
    try:
        with db.transaction() as session:
            user = accounts.user_by_email(session, email=args.email)
            movement = ledger.adjust(
                session,
                user_id=user.id or 0,
                credits=args.credits,
                key=f"grant:{uuid.uuid4()}",
                description=args.reason.strip(),
            )
    except NotFound:
        return _fail(f"No user with the email {args.email!r}.")
    except ImgappError as exc:
        return _fail(describe(exc).message)
    _out(
        f"{args.email}: {movement.amount:+} credits (entry {movement.entry_id}); "
        f"balance now {movement.balance_after}."
    )
    return 0


def cmd_credits_check(_args: argparse.Namespace) -> int:
    """Check the ledger invariant over every account; non-zero on any violation."""
    from imgapp import db  # noqa: PLC0415
    from imgapp.services import ledger  # noqa: PLC0415

    with db.read() as session:
        checked = ledger.account_count(session)
        problems = ledger.check_invariants(session)
    for problem in problems:
        sys.stderr.write(f"VIOLATION {problem}\n")
    if problems:
        return _fail(f"{len(problems)} violation(s) in {checked} account(s).")
    _out(f"{checked} account(s) checked: every balance equals the sum of its ledger entries.")
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
    credits = sub.add_parser("credits", help="operator commands for the credit ledger")
    credits_sub = credits.add_subparsers(dest="credits_command", required=True)
    grant = credits_sub.add_parser("grant", help="add (or, negative, remove) credits")
    grant.add_argument("email")
    grant.add_argument("credits", type=int, metavar="N")
    grant.add_argument("--reason", required=True, help="why; kept in the ledger and audit log")
    grant.set_defaults(func=cmd_credits_grant)
    check = credits_sub.add_parser("check", help="verify balance == sum(entries) everywhere")
    check.set_defaults(func=cmd_credits_check)
    port = sub.add_parser("port", help="print the serving port")
    port.set_defaults(func=cmd_port)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)
