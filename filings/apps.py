from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingsConfig(AppConfig):
    name = "filings"
    verbose_name = _("产品备案")

    def ready(self) -> None:
        from filings.selectors import unit_ids_of_user
        from patent_platform.scoping import register_unit_resolver

        register_unit_resolver(unit_ids_of_user)

        from filings.oidc import create_enterprise, on_enterprise_login
        from patent_platform.choices import Role
        from patent_platform.oidc import register_role_handler

        register_role_handler(Role.ENTERPRISE, create=create_enterprise, on_login=on_enterprise_login)

        from filings.models import FilingUnit, ProductClass, UnitMembership
        from patent_platform.signals import register_audited

        for model in (FilingUnit, UnitMembership, ProductClass):
            register_audited(model)
