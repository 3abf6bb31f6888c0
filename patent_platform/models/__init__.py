from .audit import AuditEvent
from .outbox import Notice, NoticeStatus
from .regions import Region
from .security import PasswordHistory
from .users import User

__all__ = ["AuditEvent", "Notice", "NoticeStatus", "PasswordHistory", "Region", "User"]
