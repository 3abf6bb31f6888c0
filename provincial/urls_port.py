"""The port administrator's dashboard and the lists behind its figures (national administrators too,
with `?port=<code>` for one port)."""

from django.urls import path

from provincial.views import dashboard

urlpatterns = [
    path("", dashboard.PortHomeView.as_view(), name="home"),
    path("export/", dashboard.DashboardExportView.as_view(), name="dashboard_export"),
    path("products/", dashboard.ProductListView.as_view(), name="products"),
    path("products/export/", dashboard.ProductExportView.as_view(), name="products_export"),
    path("units/", dashboard.UnitListView.as_view(), name="units"),
    path("units/export/", dashboard.UnitExportView.as_view(), name="units_export"),
]
