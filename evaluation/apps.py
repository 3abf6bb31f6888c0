from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = _("专利密集型产品认定")

    def ready(self) -> None:
        from evaluation import schedule
        from filings import candidacy

        candidacy.register(schedule.opt_in_refusal)
        from evaluation import lifecycle
        from filings import marking

        lifecycle.connect()  # a certificate follows its core patents' status and its filing's workflow
        marking.register_certificates(lifecycle.public_certificates)
