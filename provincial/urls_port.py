"""The port administrator's dashboard and the lists behind its figures (national administrators too,
with `?port=<code>` for one port)."""

from django.urls import path

from provincial.views import analysis, dashboard, publications, reports, signoff, subscriptions, worklists

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
    path("analysis/", analysis.AnalysisView.as_view(), name="analysis"),
    path("analysis/export/", analysis.AnalysisExportView.as_view(), name="analysis_export"),
    path("analysis/saved/", analysis.SavedCreateView.as_view(), name="analysis_save"),
    path("analysis/saved/<id:pk>/", analysis.SavedOpenView.as_view(), name="analysis_saved"),
    path("analysis/saved/<id:pk>/delete/", analysis.SavedDeleteView.as_view(), name="analysis_delete"),
    path("subscriptions/", subscriptions.SubscriptionListView.as_view(), name="subscriptions"),
    path("subscriptions/export/", subscriptions.SubscriptionExportView.as_view(), name="subscriptions_export"),
    path("subscriptions/new/", subscriptions.SubscribeView.as_view(), name="subscribe"),
    path("subscriptions/<id:pk>/active/", subscriptions.SubscriptionToggleView.as_view(), name="subscription_active"),
    path("subscriptions/<id:pk>/delete/", subscriptions.SubscriptionDeleteView.as_view(), name="subscription_delete"),
    path(
        "subscriptions/deliveries/<id:pk>/",
        subscriptions.DeliveryDownloadView.as_view(),
        name="subscription_download",
    ),
    path("publications/", publications.PortPublicationsView.as_view(), name="publications"),
    path("publications/export/", publications.PortPublicationsExportView.as_view(), name="publications_export"),
    path(
        "publications/<id:pk>/<str:ext>/",
        publications.PublicationDownloadView.as_view(),
        name="publication_download",
    ),
    path("months/<str:month>/", signoff.PortMonthView.as_view(), name="month"),
    path("months/<str:month>/sign/", signoff.PortSignView.as_view(), name="month_sign"),
    path("months/<str:month>/problem/", signoff.PortProblemView.as_view(), name="month_problem"),
    path("reports/", reports.PortReportListView.as_view(), name="reports"),
    path("reports/export/", reports.PortReportExportView.as_view(), name="reports_export"),
    path("reports/new/", reports.ReportNewView.as_view(), name="report_new"),
    path("reports/<id:pk>/", reports.PortReportDetailView.as_view(), name="report"),
    path("reports/attachments/<id:pk>/", reports.ReportAttachmentView.as_view(), name="report_attachment"),
]
