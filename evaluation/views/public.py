"""Placeholder: being written."""

from patent_platform.views.base import PublicTemplateView


class CertifiedListView(PublicTemplateView):
    template_name = "home.html"


class PublicityView(PublicTemplateView):
    template_name = "home.html"


class ObjectionView(PublicTemplateView):
    template_name = "home.html"


class VerifyView(PublicTemplateView):
    template_name = "home.html"
