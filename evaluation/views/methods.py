"""Placeholder: being written."""

from patent_platform.views.base import ScopedTemplateView


class MethodListView(ScopedTemplateView):
    roles = frozenset()


class MethodDetailView(ScopedTemplateView):
    roles = frozenset()


class MethodCopyView(ScopedTemplateView):
    roles = frozenset()


class MethodActivateView(ScopedTemplateView):
    roles = frozenset()


class IndicatorEditView(ScopedTemplateView):
    roles = frozenset()


class IndicatorDeleteView(ScopedTemplateView):
    roles = frozenset()


class BenchmarkListView(ScopedTemplateView):
    roles = frozenset()


class BenchmarkSetView(ScopedTemplateView):
    roles = frozenset()


class BenchmarkExportView(ScopedTemplateView):
    roles = frozenset()
