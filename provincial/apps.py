from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvincialConfig(AppConfig):
    name = "provincial"
    verbose_name = _("管理端口")

    def ready(self) -> None:
        from patent_platform.signals import register_audited
        from provincial.models import ManagementUnit, PortMembership

        for model in (ManagementUnit, PortMembership):
            register_audited(model)

        from provincial.dashboards import freshness

        freshness.connect()
