from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatentPlatformConfig(AppConfig):
    name = "patent_platform"
    verbose_name = _("平台")

    def ready(self) -> None:
        from patent_platform import signals  # noqa: F401  (connects the audit receivers)
