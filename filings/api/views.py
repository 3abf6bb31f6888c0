from filings.api.serializers import FilingUnitSerializer
from filings.models import FilingUnit
from patent_platform.api.base import ScopedReadOnlyViewSet


class FilingUnitViewSet(ScopedReadOnlyViewSet):
    queryset = FilingUnit.objects.select_related("region")
    serializer_class = FilingUnitSerializer
