"""Placeholder: being written."""

from patent_platform.views.base import ScopedTemplateView


class AttachmentView(ScopedTemplateView):
    roles = frozenset()


class CertificateView(ScopedTemplateView):
    roles = frozenset()
