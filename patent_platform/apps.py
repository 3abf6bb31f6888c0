from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatentPlatformConfig(AppConfig):
    name = "patent_platform"
    verbose_name = _("平台")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.urls import register_converter
        from rest_framework import serializers

        from patent_platform import (
            oidc,  # noqa: F401  (registers the check of OIDC_PROVIDERS)
            security,  # noqa: F401  (connects the receivers that end a disabled account's access)
            signals,  # noqa: F401  (connects the audit receivers)
            signing,  # noqa: F401  (registers the signing key's check)
        )
        from patent_platform.api import schema  # noqa: F401  (registers the schema extensions)
        from patent_platform.concurrency import retry_sqlite_begin
        from patent_platform.encrypted_fields import EncryptedEmailField
        from patent_platform.params import IdConverter
        from patent_platform.pgtypes import register_fast_timestamps

        # the API sees an encrypted e-mail as the e-mail it is (same validation, same schema: format email)
        serializers.ModelSerializer.serializer_field_mapping[EncryptedEmailField] = serializers.EmailField
        register_converter(IdConverter, "id")  # `<id:pk>`: ids of at most 18 digits (patent_platform/params.py)
        # SQLite: BEGIN IMMEDIATE retried a few times while the database is locked (issue 17, §5)
        connection_created.connect(retry_sqlite_begin, dispatch_uid="patent_platform.retry_sqlite_begin")
        # PostgreSQL: timestamps parsed by psycopg's compiled loader, not Django's pure-Python one (pgtypes.py)
        connection_created.connect(register_fast_timestamps, dispatch_uid="patent_platform.fast_timestamps")
