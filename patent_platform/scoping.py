"""The one scoping rule: `Model.objects.visible_to(user)`.

Every page, API endpoint, export, report, count and task reads scoped data through it. It is deny by
default: a user with no role, an inactive user and an anonymous visitor see nothing; what is out of
scope is simply absent from the queryset, so a detail lookup answers 404 exactly as for a missing
object, and counts and totals never include it.

Who sees what:
- national administrators and platform reviewers: everything;
- port administrators: the regions they were granted (django-guardian object permissions on Region
  rows: a province row, a city row or county rows); the model's own indexed province/city/county
  codes are then filtered with a plain IN, so the cost does not grow with the number of filings;
- enterprise users: their own filing unit (resolved by the filings app, which registers a resolver
  here because this package sits below it and may not import it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeAlias, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.http import Http404

from patent_platform.choices import RegionLevel, Role
from patent_platform.models.regions import MANAGE_REGION_PERMISSION, Region

if TYPE_CHECKING:
    from patent_platform.models.users import User

    # Who reads through the scoping rule: a person (signed in or not), a task's Principal, or nobody.
    Reader: TypeAlias = "User | AnonymousUser | Principal | None"

_M = TypeVar("_M", bound=models.Model)
_M_co = TypeVar("_M_co", bound=models.Model, covariant=True)

_SCOPE_ATTR = "_platform_scope"


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    province_codes: frozenset[str] = field(default_factory=frozenset)
    city_codes: frozenset[str] = field(default_factory=frozenset)
    county_codes: frozenset[str] = field(default_factory=frozenset)
    unit_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def has_regions(self) -> bool:
        return bool(self.province_codes or self.city_codes or self.county_codes)

    def region_q(self, prefix: str) -> Q:
        """A filter on the province/city/county code fields found at `prefix`."""
        q = Q(pk__in=[])
        if self.province_codes:
            q |= Q(**{f"{prefix}province_code__in": sorted(self.province_codes)})
        if self.city_codes:
            q |= Q(**{f"{prefix}city_code__in": sorted(self.city_codes)})
        if self.county_codes:
            q |= Q(**{f"{prefix}county_code__in": sorted(self.county_codes)})
        return q

    def covers_region(self, code: str) -> bool:
        """Whether a region code (any level) lies inside this scope."""
        if self.everything:
            return True
        province, city, county = Region.codes_for(code)
        return (
            province in self.province_codes
            or (bool(city) and city in self.city_codes)
            or (bool(county) and county in self.county_codes)
        )


NOTHING = Scope()
EVERYTHING = Scope(everything=True)

_unit_resolvers: list[Callable[[Any], Iterable[int]]] = []


def register_unit_resolver(resolver: Callable[[Any], Iterable[int]]) -> None:
    """Called once by the filings app: maps an enterprise user to the ids of its filing units."""
    if resolver not in _unit_resolvers:
        _unit_resolvers.append(resolver)


def granted_regions(user: User | Principal) -> list[Region]:
    """Region rows on which the user holds the port permission, directly or through a group."""
    from guardian.shortcuts import get_objects_for_user

    return list(
        get_objects_for_user(
            user, MANAGE_REGION_PERMISSION, klass=Region, with_superuser=False, accept_global_perms=False
        )
    )


def scope_of(user: Reader) -> Scope:
    """The user's scope, computed once per user object (i.e. once per request)."""
    if user is None or isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return NOTHING
    if not user.is_active:
        return NOTHING
    cached: Scope | None = getattr(user, _SCOPE_ATTR, None)
    if cached is not None:
        return cached
    scope = _compute_scope(user)
    setattr(user, _SCOPE_ATTR, scope)
    return scope


def authenticated_reader(user: Reader) -> User | Principal | None:
    """The reader if it is authenticated (a `User`, or a task's `Principal`), else None (an anonymous visitor,
    nobody).

    What `getattr(user, "is_authenticated", False)` checks, in a form the type checker follows: the querysets
    whose `visible_to` reads a reader's `role`, `is_active` or `pk` narrow through this. It does not look at
    `is_active` (each of them says whether an inactive user counts), and a `Principal` passes as it passes
    that check."""
    if user is None or isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return None
    return user


def forget_scope(user: Reader) -> None:
    """Drop the cached scope after grants or memberships change."""
    if hasattr(user, _SCOPE_ATTR):
        delattr(user, _SCOPE_ATTR)


def _compute_scope(user: User | Principal) -> Scope:
    if user.role in (Role.NATIONAL_ADMIN, Role.REVIEWER):
        return EVERYTHING
    if user.role == Role.PORT_ADMIN:
        regions = granted_regions(user)
        return Scope(
            province_codes=frozenset(r.code for r in regions if r.level == RegionLevel.PROVINCE),
            city_codes=frozenset(r.code for r in regions if r.level == RegionLevel.CITY),
            county_codes=frozenset(r.code for r in regions if r.level == RegionLevel.COUNTY),
        )
    if user.role == Role.ENTERPRISE:
        unit_ids: set[int] = set()
        for resolver in _unit_resolvers:
            unit_ids.update(resolver(user))
        return Scope(unit_ids=frozenset(unit_ids))
    return NOTHING


class ScopedQuerySet(models.QuerySet[_M]):
    """Base queryset of every scoped model.

    Subclasses say where the scoping fields are:
    - `region_prefix`: the path to a model carrying `province_code`, `city_code` and `county_code`
      ("" for the model itself, "unit__" for a product, ...); None if regions do not apply;
    - `unit_field`: the path to the filing unit's id ("id" for the unit itself, "unit_id", ...);
      None if enterprise users see none of these rows.
    """

    region_prefix: str | None = None
    unit_field: str | None = None

    def visible_to(self, user: Reader) -> Self:
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        q = Q(pk__in=[])  # deny by default
        if self.region_prefix is not None and scope.has_regions:
            q |= scope.region_q(self.region_prefix)
        if self.unit_field is not None and scope.unit_ids:
            q |= Q(**{f"{self.unit_field}__in": sorted(scope.unit_ids)})
        return self.filter(q)


@dataclass(frozen=True)
class Principal:
    """A reader that is not a person: a background task reading on behalf of a port (or of the nation).

    It goes through the same `visible_to` as a user: `scope_of` returns its fixed scope, and role-based
    querysets see its role. It holds no grants and cannot sign in; tasks use it so that a port's
    publication counts exactly what the port's administrators see.
    """

    role: str
    scope: Scope
    label: str = ""
    is_authenticated: bool = True
    is_active: bool = True
    pk: None = None

    @property
    def _platform_scope(self) -> Scope:  # read by scope_of
        return self.scope


def principal_for(scope: Scope, *, label: str = "") -> Principal:
    """A task's reader: the national office for EVERYTHING, otherwise a port with these regions."""
    role = Role.NATIONAL_ADMIN if scope.everything else Role.PORT_ADMIN
    return Principal(role=role, scope=scope, label=label)


class ScopedRows(Protocol[_M_co]):
    """A scoped queryset or manager of rows of one model (what `lock_visible` reads through)."""

    def visible_to(self, user: Reader) -> models.QuerySet[_M_co, _M_co]: ...


def lock_visible(queryset: ScopedRows[_M], user: Reader, pk: object) -> _M:  # a scoped queryset or manager
    """Row `pk` of `queryset` as `user` sees it, locked until the transaction ends (404 if out of scope).

    Writes re-read their row through this inside the transaction: the scope is checked on the row that
    is written, and concurrent writers of the same row queue on the lock."""
    try:
        return queryset.visible_to(user).select_for_update().get(pk=pk)
    except ObjectDoesNotExist as exc:  # the model's DoesNotExist
        raise Http404 from exc
