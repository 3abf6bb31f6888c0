"""Placeholder: being written."""

from patent_platform.views.base import ScopedTemplateView


class CandidateView(ScopedTemplateView):
    roles = frozenset()


class CandidateInfoView(ScopedTemplateView):
    roles = frozenset()


class MyCandidatesView(ScopedTemplateView):
    roles = frozenset()


class SelfCheckView(ScopedTemplateView):
    roles = frozenset()


class RegionResultsView(ScopedTemplateView):
    roles = frozenset()


class RegionExportView(ScopedTemplateView):
    roles = frozenset()


class ExpertHomeView(ScopedTemplateView):
    roles = frozenset()


class AssignmentView(ScopedTemplateView):
    roles = frozenset()
