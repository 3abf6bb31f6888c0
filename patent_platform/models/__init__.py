from .audit import AuditEvent
from .idempotency import IdempotencyKey, IdempotencyState
from .oidc import OIDCIdentity
from .outbox import Notice, NoticeStatus
from .regions import Region
from .security import PasswordHistory
from .users import User

__all__ = [
    "AuditEvent",
    "IdempotencyKey",
    "IdempotencyState",
    "Notice",
    "NoticeStatus",
    "OIDCIdentity",
    "PasswordHistory",
    "Region",
    "User",
]
