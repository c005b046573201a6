"""Operator commands: check-env, migrate, credits, tasks, payments, invites review, port."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Sequence

from imgapp.core.settings import check_settings, get_settings, production_problems

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
    from imgapp.core import migrations  # noqa: PLC0415 - alembic loads only for this command

    migrations.upgrade(revision=args.revision)
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(message + "\n")
    return 1


def cmd_credits_grant(args: argparse.Namespace) -> int:
    """Give (or with a negative N take) credits, as an audited operator adjustment."""
    from imgapp.core import db  # noqa: PLC0415 - the database loads only for commands that use it
    from imgapp.services import accounts, ledger  # noqa: PLC0415
    from imgapp.services.errors import (  # noqa: PLC0415
        ImgappError,
        NotFound,
        describe,
    )

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
    from imgapp.core import db  # noqa: PLC0415
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


def _when(value: object) -> str:
    from imgapp.core import formatting  # noqa: PLC0415

    return formatting.local_time(value) if value else "-"  # type: ignore[arg-type]


def cmd_tasks_inspect(args: argparse.Namespace) -> int:
    """Explain one task: parameters, timeline, money, images, and what is wrong."""
    from imgapp.core import db  # noqa: PLC0415
    from imgapp.models import Task, User  # noqa: PLC0415
    from imgapp.models.base import utcnow  # noqa: PLC0415
    from imgapp.ops import tasks as task_ops  # noqa: PLC0415
    from imgapp.services import task_views  # noqa: PLC0415

    with db.read() as session:
        task = session.get(Task, args.task_id)
        if task is None:
            return _fail(f"No task {args.task_id}.")
        owner = session.get(User, task.user_id)
        charge, refund = task_ops.money_of(session, task_id=args.task_id)
        found = task_views.images_of(session, [args.task_id])[args.task_id]
        notes = task_ops.diagnose(task, charge=charge, refund=refund, now=utcnow())
    _out(f"task {task.id} of {owner.email if owner else task.user_id}: {task.status}")
    _out(f"  prompt      {task.prompt[:100]!r}")
    _out(f"  parameters  {task.model} {task.size} x{task.n} {task.quality} {task.style or ''}")
    _out(f"  provider    {task.provider}; progress {task.progress}%; message {task.message!r}")
    _out(f"  created     {_when(task.created_at)}")
    _out(f"  started     {_when(task.started_at)}  (attempts {task.attempts})")
    _out(f"  lease       {_when(task.lease_expires_at)}  worker {task.worker_id or '-'}")
    _out(f"  finished    {_when(task.finished_at)}  cancelled {_when(task.cancelled_at)}")
    for label, entry in (("charge", charge), ("refund", refund)):
        if entry is None:
            _out(f"  {label:<11} none")
        else:
            _out(f"  {label:<11} entry {entry.id}: {entry.amount:+} at {_when(entry.created_at)}")
    _out(f"  images      {len(found)}: " + ", ".join(f"/api/images/{i.id}" for i in found))
    if task.error:
        _out(f"  error       {task.error[:300]}")
    for note in notes:
        _out(f"  -> {note}")
    return 1 if any(n.startswith("PROBLEM") for n in notes) else 0


def cmd_tasks_cancel(args: argparse.Namespace) -> int:
    """Cancel a task as an operator (its owner gets the refund)."""
    from imgapp.core import db  # noqa: PLC0415
    from imgapp.flows import tasks as task_flow  # noqa: PLC0415
    from imgapp.models import Task  # noqa: PLC0415
    from imgapp.services.errors import ImgappError, describe  # noqa: PLC0415

    with db.read() as session:
        task = session.get(Task, args.task_id)
        owner = task.user_id if task else 0
    if not owner:
        return _fail(f"No task {args.task_id}.")
    try:
        cancelled = task_flow.cancel(task_id=args.task_id, user_id=owner)
    except ImgappError as exc:
        status = exc.params.get("status", "?")
        return _fail(f"Task {args.task_id}: {describe(exc).message} (status: {status})")
    _out(f"task {args.task_id} cancelled; {cancelled.refunded} credits refunded to its owner.")
    return 0


def cmd_tasks_stuck(args: argparse.Namespace) -> int:
    """List tasks pending too long and tasks whose processor went quiet; 1 if any."""
    from datetime import timedelta  # noqa: PLC0415

    from imgapp.core import db  # noqa: PLC0415
    from imgapp.ops import tasks as task_ops  # noqa: PLC0415

    found = db.call_read(task_ops.stuck, pending_for=timedelta(minutes=args.pending_minutes))
    for task in found.pending:
        _out(f"pending   task {task.id} since {_when(task.created_at)} (user {task.user_id})")
    for task in found.expired:
        _out(
            f"expired   task {task.id} worker {task.worker_id} lease ended "
            f"{_when(task.lease_expires_at)} (attempt {task.attempts})"
        )
    if not found.pending and not found.expired:
        _out("No stuck tasks.")
        return 0
    _out("Run `python -m imgapp tasks inspect ID` for what to do.")
    return 1


def cmd_payments_reconcile(_args: argparse.Namespace) -> int:
    """Ask the gateway about every pending order: credit the paid, expire the dead."""
    from imgapp.worker import reconciler as payment_reconciler  # noqa: PLC0415

    report = payment_reconciler.run_once(older_than=None)
    _out(f"{report.checked} pending order(s) checked.")
    for order_id in report.credited:
        _out(f"credited  {order_id} (paid at the gateway, no notification had arrived)")
    for order_id in report.expired:
        _out(f"expired   {order_id}")
    for order_id, why in report.failed:
        _out(f"FAILED    {order_id}: {why}")
    return 1 if report.failed else 0


def cmd_payments_show(args: argparse.Namespace) -> int:
    """Explain one recharge order: amounts, gateway, timeline, ledger entry, audit trail."""
    from sqlmodel import select  # noqa: PLC0415

    from imgapp.core import db  # noqa: PLC0415
    from imgapp.models import AuditLog, LedgerEntry, User  # noqa: PLC0415
    from imgapp.models.base import utcnow  # noqa: PLC0415
    from imgapp.ops import payments as payment_ops  # noqa: PLC0415
    from imgapp.services import payments  # noqa: PLC0415
    from imgapp.services.errors import NotFound  # noqa: PLC0415

    with db.read() as session:
        try:
            order = payments.get_order(session, order_id=args.order_id)
        except NotFound:
            return _fail(f"No order {args.order_id}.")
        owner = session.get(User, order.user_id)
        entry = session.get(LedgerEntry, order.ledger_entry_id) if order.ledger_entry_id else None
        trail = session.exec(
            select(AuditLog).where(AuditLog.target == order.order_id).order_by(AuditLog.id)
        ).all()
        notes = payment_ops.diagnose(order, now=utcnow())
    amount = payments.format_fen(order.amount_fen)
    _out(f"order {order.order_id} of {owner.email if owner else order.user_id}: {order.status}")
    _out(f"  amount      {amount} CNY via {order.pay_type} -> {order.credits} credits")
    gateway = "confirmed" if order.confirmed else f"not confirmed ({order.gateway_error or '-'})"
    _out(f"  gateway     {order.provider}, {gateway}; aoid {order.aoid or '-'}")
    _out(f"  created     {_when(order.created_at)}; expires {_when(order.expires_at)}")
    _out(f"  paid        {_when(order.paid_at)} {order.paid_price} {order.transaction_id}")
    if entry is None:
        _out("  ledger      no entry")
    else:
        _out(f"  ledger      entry {entry.id}: {entry.amount:+} at {_when(entry.created_at)}")
    for event in trail:
        _out(f"  audit       {_when(event.created_at)} {event.action} {event.ip or ''}".rstrip())
    for note in notes:
        _out(f"  -> {note}")
    return 1 if any(n.startswith("PROBLEM") for n in notes) else 0


def cmd_port(_args: argparse.Namespace) -> int:
    """Print the port the app serves on (used by the run script)."""
    _out(str(get_settings().imgapp_port))
    return 0


def cmd_invites_review(args: argparse.Namespace) -> int:
    """List held invite rewards, or release (--approve) / reject (--reject) one."""
    from sqlmodel import select  # noqa: PLC0415

    from imgapp.core import db  # noqa: PLC0415
    from imgapp.flows import invites as invite_flow  # noqa: PLC0415
    from imgapp.models import InviteRelation, InviteStatus, User  # noqa: PLC0415
    from imgapp.services.errors import ImgappError, describe  # noqa: PLC0415

    invitee_id = args.approve or args.reject
    if invitee_id:
        if args.reject and not args.reason.strip():
            return _fail("Say why with --reason TEXT (the inviter sees it).")
        try:
            done = invite_flow.review(
                invitee_id=invitee_id, approve=bool(args.approve), reason=args.reason
            )
        except ImgappError as exc:
            return _fail(f"Invitee {invitee_id}: {describe(exc).message}")
        _out(
            f"invitee {invitee_id}: {done.status} ({done.credits} credits, user {done.inviter_id})"
        )
        return 0
    with db.read() as session:
        held = session.exec(
            select(InviteRelation, User.email)
            .join(User, User.id == InviteRelation.invitee_id)  # type: ignore[arg-type]
            .where(InviteRelation.status == InviteStatus.HELD.value)
            .order_by(InviteRelation.id)  # type: ignore[arg-type]
        ).all()
    for relation, email in held:
        _out(
            f"held  invitee {relation.invitee_id} ({email}) of user {relation.inviter_id}:"
            f" {relation.reward_credits} credits, {relation.status_reason}"
        )
    if not held:
        _out("No held invite rewards.")
        return 0
    _out("Release with --approve INVITEE_ID, or --reject INVITEE_ID --reason TEXT.")
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
    task_cmd = sub.add_parser("tasks", help="diagnose and manage generation tasks")
    task_sub = task_cmd.add_subparsers(dest="tasks_command", required=True)
    inspect_cmd = task_sub.add_parser("inspect", help="explain a task and what is wrong")
    inspect_cmd.add_argument("task_id", type=int)
    inspect_cmd.set_defaults(func=cmd_tasks_inspect)
    cancel_cmd = task_sub.add_parser("cancel", help="cancel a task; its owner is refunded")
    cancel_cmd.add_argument("task_id", type=int)
    cancel_cmd.set_defaults(func=cmd_tasks_cancel)
    stuck_cmd = task_sub.add_parser("stuck", help="tasks pending too long or with lapsed leases")
    stuck_cmd.add_argument("--pending-minutes", type=float, default=2.0)
    stuck_cmd.set_defaults(func=cmd_tasks_stuck)
    pay_cmd = sub.add_parser("payments", help="recharge orders: reconcile and explain")
    pay_sub = pay_cmd.add_subparsers(dest="payments_command", required=True)
    reconcile_cmd = pay_sub.add_parser(
        "reconcile", help="ask the gateway about every pending order and settle it"
    )
    reconcile_cmd.set_defaults(func=cmd_payments_reconcile)
    show_cmd = pay_sub.add_parser("show", help="explain an order and what is wrong")
    show_cmd.add_argument("order_id")
    show_cmd.set_defaults(func=cmd_payments_show)
    invite_cmd = sub.add_parser("invites", help="invitations: review held rewards")
    invite_sub = invite_cmd.add_subparsers(dest="invite_command", required=True)
    review_cmd = invite_sub.add_parser(
        "review", help="list held rewards; --approve ID or --reject ID --reason TEXT"
    )
    decide = review_cmd.add_mutually_exclusive_group()
    decide.add_argument("--approve", type=int, metavar="INVITEE_ID", default=0)
    decide.add_argument("--reject", type=int, metavar="INVITEE_ID", default=0)
    review_cmd.add_argument("--reason", default="", help="why a reward is rejected")
    review_cmd.set_defaults(func=cmd_invites_review)
    port = sub.add_parser("port", help="print the serving port")
    port.set_defaults(func=cmd_port)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)
