"""Masking personal contact data (等保 2.0 L3-CES1-33/34; issue 8 item 5) for roles that do not need it.

Who sees contacts in full, place by place (README "Who sees what" and docs/SECURITY.md):
- an enterprise user: its own unit's contact and colleagues (its own data);
- the platform reviewer and the national administrator on the review page: in full (they call the
  filer about a filing);
- the port's and the national dashboards' unit lists and their exports, and the filing-unit API
  (`/api/v1/enterprises/`) for port and national administrators: masked (a statistics list, nobody calls
  from it); in full in the API for the unit's own users and the reviewers;
- the not-filed follow-up list of a roster and its export (the unit contacts and the roster contacts): in full
  for port and national administrators (its purpose is to contact the enterprises); the export's audit record
  says `personal_data: true`; the confirm page of a reminder and the follow-up history show addresses masked
  (a `FollowUp` keeps them masked only); roster contacts in the admin site: masked;
- port contacts: in full on the port's own page, on a port's page and on an application's page of the
  national office (they act on them); masked in the national list of ports and in the exports of ports
  and applications;
- a filing unit's page of the ports (`/port/units/<id>/`, issue 20 "working from the lists"): masked for
  port and national administrators (`unit_contacts`), the same unit as in their lists and the API;
- the Django admin site (system administrator): masked or left out; public pages: never shown.
"""

from collections.abc import Callable
from typing import Any

from patent_platform.choices import Role

# Roles that read filing units as statistics: their contacts masked (the lists, the API, the unit's page).
UNIT_CONTACTS_MASKED_FOR = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})


def mask_phone(value: str) -> str:
    """138****5678: the first three and the last four characters stay."""
    value = (value or "").strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_email(value: str) -> str:
    """a***@example.cn: the first character of the local part and the domain stay."""
    value = (value or "").strip()
    if "@" not in value:
        return "*" * len(value)
    local, domain = value.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """陈** : the first character stays."""
    value = (value or "").strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


def masker_for(field_name: str) -> Callable[[str], str]:
    """The masking function for a contact field, by its name (…email…, …phone…/mobile, otherwise a name)."""
    if "email" in field_name:
        return mask_email
    if "phone" in field_name or "mobile" in field_name:
        return mask_phone
    return mask_name


def mask_contact_value(field_name: str, value: Any) -> Any:
    """`value` of the contact field `field_name` masked; a list or dict (a JSON list of contacts) masked
    item by item, each key by its own name."""
    if value is None or value == "":
        return value
    if isinstance(value, dict):
        return {k: mask_contact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_contact_value(field_name, v) for v in value]
    if isinstance(value, bool | int | float):
        return value
    return masker_for(field_name)(str(value))


def masked_column(field_name: str, label: Any = None) -> Callable[[Any], str]:
    """A list column (Django admin list_display) showing `field_name` masked."""
    mask = masker_for(field_name)

    def column(obj: Any) -> str:
        return mask(str(getattr(obj, field_name, "") or ""))

    column.short_description = label or field_name  # type: ignore[attr-defined]
    column.__name__ = f"masked_{field_name}"
    return column


def mask_contact_text(name: str = "", post: str = "", office_phone: str = "", mobile: str = "", email: str = "") -> str:
    """One contact on one line, phone numbers and e-mail masked (the name stays: it is an office's contact)."""
    parts = [name, post, mask_phone(office_phone) if office_phone else "", mask_phone(mobile) if mobile else ""]
    text = " ".join(p for p in parts if p)
    return f"{text} <{mask_email(email)}>" if email else text


def unit_contacts(role: str | None, name: str = "", phone: str = "", email: str = "") -> dict[str, Any]:
    """A filing unit's contact as a viewer of `role` may see it: `masked` says whether it was masked."""
    if role in UNIT_CONTACTS_MASKED_FOR:
        return {"name": mask_name(name), "phone": mask_phone(phone), "email": mask_email(email), "masked": True}
    return {"name": name or "", "phone": phone or "", "email": email or "", "masked": False}
