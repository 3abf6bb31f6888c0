"""Users log in by e-mail; each has exactly one role.

The access-control data of an account (its role and the staff and superuser flags, bound to its e-mail)
carry an HMAC-SM3 tag (`access_tag`, GB/T 39786-2021 level 3, integrity of access-control information),
computed on every save under settings.AUDIT_CHAIN_KEY and checked whenever the account is used
(patent_platform/integrity.py): a role changed behind the application's back (raw SQL, a restored dump)
no longer matches its tag and the account is refused until the security administrator re-saves it.
"""

import json
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import Role
from patent_platform.encrypted_fields import BlindIndexField, EncryptedCharField, EncryptedEmailField
from patent_platform.signing import hmac_sm3_hex

# What the access tag covers. Not the id (unknown before the first insert): the e-mail, unique, binds the tag to
# one account, so tags cannot be swapped between accounts either.
ACCESS_FIELDS = ("email", "role", "is_staff", "is_superuser")


def compute_access_tag(values: dict[str, Any]) -> str:
    from django.conf import settings

    document = {"purpose": "access-control", **{name: values.get(name) for name in ACCESS_FIELDS}}
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac_sm3_hex(settings.AUDIT_CHAIN_KEY.encode("utf-8"), text.encode("utf-8"))


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        if not email:
            raise ValueError("e-mail is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("role", Role.NATIONAL_ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        # made by the operator (createsuperuser), who vouches for the address (patent_platform/confirmation.py)
        extra.setdefault("email_confirmed_at", timezone.now())
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    # Personal data, stored encrypted (patent_platform/fieldcrypto.py); the e-mail is looked up by exact match
    # through its blind index, which also carries the real uniqueness (the ciphertexts never collide).
    email = EncryptedEmailField(_("电子邮箱"), unique=True, blind_index="email_bidx")
    email_bidx = BlindIndexField(source="email", kind="email", unique=True)
    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = EncryptedCharField(_("手机号码"), max_length=30, blank=True)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.ENTERPRISE)
    # Password age (等保 L3-CES1-01, periodic change; patent_platform/security.py). Set whenever a password
    # is set; empty for accounts older than the field, whose age counts from date_joined.
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True, editable=False)
    # Set when the security administrator resets the account's second factor (duties.user_reset_two_factor): the
    # next login must enrol a new device, whatever OTP_REQUIRED_ROLES says of the role; cleared on enrolment.
    otp_enrolment_required = models.BooleanField(_("须重新设置双因素认证"), default=False, editable=False)
    # When the owner of the address proved it (the link of the confirmation mail, or the one-time link of an
    # invitation or a password reset: patent_platform/confirmation.py). Empty: the account may sign in but do
    # nothing else until it is confirmed (SecurityPolicyMiddleware, the API's token authentication).
    email_confirmed_at = models.DateTimeField(_("邮箱确认时间"), null=True, blank=True, editable=False)

    # HMAC-SM3 of ACCESS_FIELDS (see the module's doc); set by save(), checked by patent_platform/integrity.py.
    access_tag = models.CharField(_("权限数据校验码"), max_length=64, blank=True, default="", editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # django-stubs types AbstractUser.objects as Django's own UserManager, whose create_user takes a username
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.email

    def expected_access_tag(self) -> str:
        return compute_access_tag({name: getattr(self, name) for name in ACCESS_FIELDS})

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.access_tag = self.expected_access_tag()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(ACCESS_FIELDS):
            kwargs["update_fields"] = {*update_fields, "access_tag"}
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_national(self) -> bool:
        return self.role == Role.NATIONAL_ADMIN

    @property
    def is_reviewer(self) -> bool:
        return self.role == Role.REVIEWER

    @property
    def is_port_admin(self) -> bool:
        return self.role == Role.PORT_ADMIN

    @property
    def is_enterprise(self) -> bool:
        return self.role == Role.ENTERPRISE

    @property
    def is_expert(self) -> bool:
        return self.role == Role.EXPERT
