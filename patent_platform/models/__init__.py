from .audit import AuditEvent
from .regions import Region
from .security import PasswordHistory
from .users import User

__all__ = ["AuditEvent", "PasswordHistory", "Region", "User"]
