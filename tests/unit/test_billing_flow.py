"""The money actions in a transaction of their own (`imgapp.flows.billing`)."""

from __future__ import annotations

import pytest

from imgapp.core import db
from imgapp.flows import billing
from imgapp.models import LedgerEntry
from imgapp.services import ledger
from imgapp.services.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    NotFound,
    ValidationFailed,
)
from tests.support.factories import balance_of, count_rows, funded_user

pytestmark = pytest.mark.usefixtures("engine")


def test_charge_in_its_own_transaction_answers_every_case_like_charge():
    user = funded_user(50)
    usage = ledger.Usage(model="api", image_count=1)
    first = billing.charge(user_id=user.id, credits=30, key="own:1", usage=usage)
    assert (first.amount, first.balance_after, first.replayed) == (-30, 20, False)
    with db.read() as session:
        entry = session.get(LedgerEntry, first.entry_id)
        assert entry is not None
        assert entry.balance_after == 20
        assert (entry.model, entry.image_count) == ("api", 1)
    again = billing.charge(user_id=user.id, credits=30, key="own:1", usage=usage)
    assert again.replayed
    assert again.entry_id == first.entry_id
    entries = count_rows(LedgerEntry)
    with pytest.raises(InsufficientCredits):
        billing.charge(user_id=user.id, credits=21, key="own:2")
    with pytest.raises(IdempotencyConflict):
        billing.charge(user_id=user.id, credits=5, key="own:1")
    with pytest.raises(NotFound):
        billing.charge(user_id=987654, credits=1, key="own:ghost")
    with pytest.raises(ValidationFailed):
        billing.charge(user_id=user.id, credits="3", key="own:3")  # type: ignore[arg-type]
    assert (balance_of(user.id), count_rows(LedgerEntry)) == (20, entries)
    assert db.call_read(ledger.check_invariants) == []
