from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("核验接口")

    def ready(self) -> None:
        from patent_platform.signals import register_audited
        from verification.models import VerificationClient

        register_audited(VerificationClient)
