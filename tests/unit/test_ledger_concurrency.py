"""Concurrency proof: 32 threads x 100 operations against balances too small for all.

Runs on this run's database (SQLite, then PostgreSQL with `make test`). Every
thread has its own connections and transactions, exactly as the API's
request handlers do.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.flows import billing
from imgapp.models import LedgerEntry
from imgapp.services import ledger
from imgapp.services.errors import InsufficientCredits, RefundExceedsCharge
from tests.support.factories import funded_user

pytestmark = pytest.mark.usefixtures("engine")

THREADS = 32
OPS_PER_THREAD = 100


def _charge(thread: int, **kwargs) -> ledger.Movement:
    """Even threads charge in a Session, odd ones on the fast path: twins race across both."""
    if thread % 2:
        return billing.charge(**kwargs)
    return db.call(ledger.charge, **kwargs)


def _run_threads(work) -> None:
    barrier = threading.Barrier(THREADS)

    def start(index: int) -> None:
        barrier.wait()  # all threads begin together
        work(index)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(start, range(THREADS)))


def test_charges_never_overspend_and_duplicate_keys_charge_once():
    accounts = [funded_user(1000) for _ in range(4)]
    price = 3  # 1000 // 3 = 333 charges fit in each account, 1 credit is left
    results: dict[str, set[int]] = defaultdict(set)
    refused: list[InsufficientCredits] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        for op in range(OPS_PER_THREAD):
            # Threads 2k and 2k+1 issue the very same charges (same key, user, price).
            user = accounts[(thread // 2 + op) % len(accounts)]
            key = f"charge:{user.id}:{thread // 2}:{op}"
            try:
                movement = _charge(thread, user_id=user.id, credits=price, key=key)
            except InsufficientCredits as exc:
                with lock:
                    refused.append(exc)
                continue
            with lock:
                results[key].add(movement.entry_id)

    _run_threads(work)

    # Every key that succeeded produced exactly one entry, whichever thread asked.
    assert all(len(ids) == 1 for ids in results.values())
    with db.read() as session:
        charges = session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "charge")
        ).one()
    assert charges == len(results) == 333 * len(accounts)
    for user in accounts:
        assert db.call_read(ledger.balance, user_id=user.id) == 1
    # A charge was refused only when the balance really did not cover it.
    assert refused
    assert all(exc.balance < exc.needed for exc in refused)
    assert db.call_read(ledger.check_invariants) == []


def test_charges_mixed_with_refunds_and_duplicate_keys_keep_the_books_exact():
    accounts = [funded_user(500) for _ in range(4)]
    lock = threading.Lock()
    succeeded: dict[str, tuple[int, int, int]] = {}  # key -> (user, amount, entry id)
    refunded: dict[str, tuple[int, int, int]] = {}
    outcome_ids: dict[str, set[int]] = defaultdict(set)
    refused_while_covered: list[InsufficientCredits] = []

    def work(thread: int) -> None:
        rng = random.Random(1000 + thread)
        for op in range(OPS_PER_THREAD):
            with lock:
                done = list(succeeded)
            if done and rng.random() < 0.3:
                charge_key = rng.choice(done)
                user_id, amount, _ = succeeded[charge_key]
                key = f"refund:{charge_key}"  # racing threads pick the same charge
                try:
                    movement = db.call(
                        ledger.refund, user_id=user_id, charge_key=charge_key, key=key
                    )
                except RefundExceedsCharge:
                    continue
                with lock:
                    refunded.setdefault(key, (user_id, movement.amount, movement.entry_id))
                    outcome_ids[key].add(movement.entry_id)
                continue
            if op % 4 == 0:  # a quarter of the charges are issued by two threads at once
                key = f"charge:pair{thread // 2}:{op}"
                user, amount = accounts[op % len(accounts)], 1 + op % 9
            else:
                key = f"charge:{thread}:{op}"
                user, amount = accounts[rng.randrange(len(accounts))], rng.randint(1, 9)
            try:
                movement = _charge(thread, user_id=user.id, credits=amount, key=key)
            except InsufficientCredits as exc:
                if exc.balance >= exc.needed:
                    with lock:
                        refused_while_covered.append(exc)
                continue
            with lock:
                succeeded.setdefault(key, (user.id, amount, movement.entry_id))
                outcome_ids[key].add(movement.entry_id)

    _run_threads(work)

    assert refused_while_covered == []
    assert all(len(ids) == 1 for ids in outcome_ids.values()), "a key moved money twice"
    for user in accounts:
        spent = sum(a for u, a, _ in succeeded.values() if u == user.id)
        back = sum(a for u, a, _ in refunded.values() if u == user.id)
        final = db.call_read(ledger.balance, user_id=user.id)
        assert final == 500 - spent + back
        assert final >= 0
    with db.read() as session:
        entries = session.exec(
            select(func.count())
            .select_from(LedgerEntry)
            .where(
                LedgerEntry.kind.in_(["charge", "refund"])  # type: ignore[attr-defined]
            )
        ).one()
    assert entries == len(succeeded) + len(refunded)
    assert db.call_read(ledger.check_invariants) == []
