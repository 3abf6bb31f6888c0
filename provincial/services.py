"""Opening ports and granting their administrators the port's regions."""

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from patent_platform.choices import Role
from patent_platform.models import User
from patent_platform.models.regions import MANAGE_REGION_PERMISSION
from patent_platform.scoping import forget_scope
from provincial.models import ManagementUnit, PortMembership


@transaction.atomic
def port_add_admin(*, unit: ManagementUnit, user: User) -> PortMembership:
    """Make `user` an administrator of `unit`: role, membership, and a grant on each of its regions."""
    if user.role != Role.PORT_ADMIN:
        user.role = Role.PORT_ADMIN
        user.save(update_fields=["role"])
    membership, _created = PortMembership.objects.update_or_create(user=user, defaults={"unit": unit})
    for region in unit.regions.all():
        assign_perm(MANAGE_REGION_PERMISSION, user, region)
    forget_scope(user)
    return membership


@transaction.atomic
def port_remove_admin(*, user: User) -> None:
    membership = PortMembership.objects.filter(user=user).select_related("unit").first()
    if membership is None:
        return
    for region in membership.unit.regions.all():
        remove_perm(MANAGE_REGION_PERMISSION, user, region)
    membership.delete()
    forget_scope(user)
