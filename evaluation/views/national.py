"""Placeholder: being written."""

from patent_platform.views.base import ScopedTemplateView


class RoundListView(ScopedTemplateView):
    roles = frozenset()


class RoundCreateView(ScopedTemplateView):
    roles = frozenset()


class RoundDetailView(ScopedTemplateView):
    roles = frozenset()


class RoundProgressView(ScopedTemplateView):
    roles = frozenset()


class RoundActionView(ScopedTemplateView):
    roles = frozenset()


class RoundExportView(ScopedTemplateView):
    roles = frozenset()


class ObjectionDecideView(ScopedTemplateView):
    roles = frozenset()


class ExpertListView(ScopedTemplateView):
    roles = frozenset()


class ExpertCreateView(ScopedTemplateView):
    roles = frozenset()
