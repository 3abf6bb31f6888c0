"""Target rosters and coverage (namespace `rosters`, under /rosters/)."""

from django.urls import path

from provincial.views import coverage, rosters

urlpatterns = [
    path("", rosters.RosterListView.as_view(), name="list"),
    path("export/", rosters.RosterListExportView.as_view(), name="export"),
    path("upload/", rosters.RosterUploadView.as_view(), name="upload"),
    path("uploads/<id:pk>/", rosters.RosterUploadDetailView.as_view(), name="upload_detail"),
    path("uploads/<id:pk>/progress/", rosters.RosterUploadProgressView.as_view(), name="upload_progress"),
    path("uploads/<id:pk>/errors/", rosters.RosterUploadErrorsView.as_view(), name="upload_errors"),
    path("uploads/export/", rosters.RosterUploadsExportView.as_view(), name="upload_export"),
    path("template/", rosters.RosterTemplateView.as_view(), name="template"),
    path("<id:pk>/delete/", rosters.RosterDeleteView.as_view(), name="delete"),
    path("coverage/", coverage.CoverageView.as_view(), name="coverage"),
    path("coverage/export/", coverage.CoverageExportView.as_view(), name="coverage_export"),
    path("missing/", coverage.MissingView.as_view(), name="missing"),
    path("missing/export/", coverage.MissingExportView.as_view(), name="missing_export"),
    path("missing/follow-up/", coverage.FollowUpView.as_view(), name="follow_up"),
    path("follow-ups/", coverage.FollowUpListView.as_view(), name="follow_ups"),
    path("follow-ups/export/", coverage.FollowUpExportView.as_view(), name="follow_ups_export"),
    path("completeness/", coverage.CompletenessView.as_view(), name="completeness"),
    path("completeness/export/", coverage.CompletenessExportView.as_view(), name="completeness_export"),
]
