from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvincialConfig(AppConfig):
    name = "provincial"
    verbose_name = _("管理端口")
