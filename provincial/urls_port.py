"""The port administrator's dashboard and the lists behind its figures (national administrators too,
with `?port=<code>` for one port)."""

from django.urls import path

from provincial.views import dashboard, publications, reports, worklists

urlpatterns = [
    path("", dashboard.PortHomeView.as_view(), name="home"),
    path("export/", dashboard.DashboardExportView.as_view(), name="dashboard_export"),
    path("products/", dashboard.ProductListView.as_view(), name="products"),
    path("products/export/", dashboard.ProductExportView.as_view(), name="products_export"),
    path("products/<id:pk>/", worklists.PortProductView.as_view(), name="product"),
    path("versions/<id:pk>/", worklists.PortVersionView.as_view(), name="version"),
    path("units/", dashboard.UnitListView.as_view(), name="units"),
    path("units/<id:pk>/", worklists.PortUnitView.as_view(), name="unit"),
    path("units/<id:pk>/export/", worklists.PortUnitExportView.as_view(), name="unit_export"),
    path("units/export/", dashboard.UnitExportView.as_view(), name="units_export"),
    path("publications/", publications.PortPublicationsView.as_view(), name="publications"),
    path("publications/export/", publications.PortPublicationsExportView.as_view(), name="publications_export"),
    path(
        "publications/<id:pk>/<str:ext>/",
        publications.PublicationDownloadView.as_view(),
        name="publication_download",
    ),
    path("reports/", reports.PortReportListView.as_view(), name="reports"),
    path("reports/export/", reports.PortReportExportView.as_view(), name="reports_export"),
    path("reports/new/", reports.ReportNewView.as_view(), name="report_new"),
    path("reports/<id:pk>/", reports.PortReportDetailView.as_view(), name="report"),
    path("reports/attachments/<id:pk>/", reports.ReportAttachmentView.as_view(), name="report_attachment"),
]
