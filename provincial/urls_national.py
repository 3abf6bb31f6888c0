from django.urls import path

from provincial.views import applications as apps
from provincial.views import dashboard, ports, publications, reports, signoff

urlpatterns = [
    path("", dashboard.NationalHomeView.as_view(), name="home"),
    path("applications/", apps.ApplicationListView.as_view(), name="applications"),
    path("applications/export/", apps.ApplicationExportView.as_view(), name="applications_export"),
    path("applications/<id:pk>/", apps.ApplicationDetailView.as_view(), name="application"),
    path("applications/<id:pk>/scan/", apps.ApplicationScanView.as_view(), name="application_scan"),
    path("applications/<id:pk>/approve/", apps.ApplicationApproveView.as_view(), name="application_approve"),
    path("applications/<id:pk>/return/", apps.ApplicationReturnView.as_view(), name="application_return"),
    path("ports/", ports.PortListView.as_view(), name="ports"),
    path("ports/export/", ports.PortExportView.as_view(), name="ports_export"),
    path("ports/<id:pk>/", ports.PortDetailView.as_view(), name="port"),
    path("ports/<id:pk>/contacts/", ports.PortContactAddView.as_view(), name="port_contact_add"),
    path("contacts/<id:pk>/delete/", ports.PortContactDeleteView.as_view(), name="port_contact_delete"),
    path("publications/", publications.NationalPublicationsView.as_view(), name="publications"),
    path("publications/progress/", publications.PublicationProgressView.as_view(), name="publications_progress"),
    path("publications/rebuild/", publications.RebuildView.as_view(), name="publications_rebuild"),
    path("publications/yearend/", publications.YearendView.as_view(), name="publications_yearend"),
    path("months/", signoff.NationalMonthsView.as_view(), name="months"),
    path("months/export/", signoff.NationalMonthsExportView.as_view(), name="months_export"),
    path("months/remind/", signoff.RemindView.as_view(), name="months_remind"),
    path("months/release/", signoff.ReleaseView.as_view(), name="months_release"),
    path("months/<str:month>/<str:code>/reopen/", signoff.ReopenView.as_view(), name="month_reopen"),
    path("reports/", reports.NationalReportListView.as_view(), name="reports"),
    path("reports/export/", reports.NationalReportExportView.as_view(), name="reports_export"),
    path("reports/typical/", reports.TypicalCasesView.as_view(), name="reports_typical"),
    path("reports/<id:pk>/", reports.NationalReportDetailView.as_view(), name="report"),
    path("reports/<id:pk>/comment/", reports.ReportCommentView.as_view(), name="report_comment"),
    path("reports/<id:pk>/typical/", reports.ReportTypicalView.as_view(), name="report_typical"),
]
