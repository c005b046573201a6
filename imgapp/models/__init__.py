"""SQLModel tables; importing this package registers every table on the metadata."""

from imgapp.models.audit import AuditLog
from imgapp.models.billing import BillingAccount, LedgerEntry, LedgerKind
from imgapp.models.credentials import ApiKey, RecoveryCode
from imgapp.models.heartbeats import WorkerHeartbeat
from imgapp.models.invites import InviteRelation, InviteStatus
from imgapp.models.payments import PaymentStatus, PaymentTransaction
from imgapp.models.tasks import Task, TaskImage, TaskStatus
from imgapp.models.uploads import Upload, UploadPurpose
from imgapp.models.user import User, UserSession
from imgapp.models.webhooks import DeliveryStatus, WebhookDelivery

__all__ = [
    "ApiKey",
    "AuditLog",
    "BillingAccount",
    "DeliveryStatus",
    "InviteRelation",
    "InviteStatus",
    "LedgerEntry",
    "LedgerKind",
    "PaymentStatus",
    "PaymentTransaction",
    "RecoveryCode",
    "Task",
    "TaskImage",
    "TaskStatus",
    "Upload",
    "UploadPurpose",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WorkerHeartbeat",
]
