from rest_framework import serializers

from filings.models import FilingUnit


class FilingUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = FilingUnit
        fields = ["id", "uscc", "name", "kind", "region", "province_code", "city_code", "county_code", "created_at"]
        read_only_fields = fields
