"""Placeholder: being written."""

from rest_framework import viewsets

from evaluation.models import BenchmarkSet, Candidate, MethodVersion, Round
from patent_platform.api.base import ScopedViewSetMixin


class MethodViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = MethodVersion.objects.all()


class BenchmarkSetViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = BenchmarkSet.objects.all()


class RoundViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Round.objects.all()


class ResultViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Candidate.objects.all()
