from .audit import AuditEvent
from .regions import Region
from .users import User

__all__ = ["AuditEvent", "Region", "User"]
