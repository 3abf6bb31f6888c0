from django.contrib import admin

from filings.models import FilingUnit, ProductClass


@admin.register(ProductClass)
class ProductClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "scheme", "is_active"]
    list_filter = ["scheme", "is_active"]


@admin.register(FilingUnit)
class FilingUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "province_code", "city_code"]
    search_fields = ["name", "uscc"]
    raw_id_fields = ["region"]
