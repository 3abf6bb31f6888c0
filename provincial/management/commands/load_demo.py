"""Demo data for `make run`: accounts of every role and their filing units.

Loaded only by this command (never by migrations or production settings). Running it twice changes
nothing. Every demo account's password is `Demo-2026!`.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from filings.identifiers import build_uscc
from filings.models import FilingUnit, UnitMembership
from patent_platform.choices import Role
from patent_platform.models import User
from provincial.models import ManagementUnit
from provincial.services import port_add_admin

DEMO_PASSWORD = "Demo-2026!"

# (e-mail, name, role, management unit code for port administrators)
ACCOUNTS = [
    ("national@example.cn", "国家局管理员（演示）", Role.NATIONAL_ADMIN, None),
    ("reviewer@example.cn", "平台审核员（演示）", Role.REVIEWER, None),
    ("guangdong@example.cn", "广东省管理端口（演示）", Role.PORT_ADMIN, "440000"),
    ("zhejiang@example.cn", "浙江省管理端口（演示）", Role.PORT_ADMIN, "330000"),
    ("shenzhen@example.cn", "深圳市管理端口（演示）", Role.PORT_ADMIN, "440300"),
]
# (e-mail, contact name, unit name, county code, organisation code body)
ENTERPRISES = [
    ("ent-gz@example.cn", "陈广", "广州云帆智能装备有限公司", "440106", "MA59GD01"),
    ("ent-sz@example.cn", "李深", "深圳鹏芯微电子有限公司", "440305", "MA5FPX02"),
    ("ent-hz@example.cn", "王杭", "杭州西溪新材料科技有限公司", "330106", "MA2HC003"),
]


class Command(BaseCommand):
    help = "Load the demo accounts and data (password Demo-2026! for all). Never run it in production."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        rows = []
        for email, name, role, port_code in ACCOUNTS:
            user = self._user(email, name, role)
            if role == Role.NATIONAL_ADMIN and not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            if port_code:
                unit = ManagementUnit.objects.get(code=port_code)
                if not unit.is_open:
                    unit.is_open = True
                    unit.save(update_fields=["is_open"])
                if not hasattr(user, "port_membership"):
                    port_add_admin(unit=unit, user=user)
                rows.append((email, f"{role.label} · {unit.name}"))
            else:
                rows.append((email, str(role.label)))
        for email, contact, unit_name, county, org in ENTERPRISES:
            user = self._user(email, contact, Role.ENTERPRISE)
            unit, _created = FilingUnit.objects.get_or_create(
                uscc=build_uscc(region_code=county, org_body=org),
                defaults={"name": unit_name, "region_id": county},
            )
            UnitMembership.objects.get_or_create(user=user, defaults={"unit": unit, "is_manager": True})
            rows.append((email, f"{Role.ENTERPRISE.label} · {unit.name}"))
        self.stdout.write("Demo accounts (password Demo-2026! for all):")
        for email, what in rows:
            self.stdout.write(f"  {email:<24} {what}")

    def _user(self, email: str, name: str, role: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, role=role)
        return user
