"""/certification/: the national office's rounds, methods and benchmarks; filers', experts' and ports' pages."""

from django.urls import path

from evaluation.views import (
    benchmarks,
    certificates,
    documents,
    experts,
    holidays,
    methods,
    national,
    objections,
    participants,
    ports,
    scoring,
    whatif,
)

urlpatterns = [
    # national office: rounds
    path("", national.RoundListView.as_view(), name="rounds"),
    path("rounds/new/", national.RoundCreateView.as_view(), name="round_new"),
    path("rounds/<id:pk>/", national.RoundDetailView.as_view(), name="round"),
    path("rounds/<id:pk>/progress/", national.RoundProgressView.as_view(), name="round_progress"),
    path("rounds/<id:pk>/actions/<slug:action>/", national.RoundActionView.as_view(), name="round_action"),
    path("rounds/<id:pk>/export.xlsx", national.RoundExportView.as_view(), name="round_export"),
    path("objections/<id:pk>/decide/", objections.ObjectionDecideView.as_view(), name="objection_decide"),
    path("holidays/", holidays.HolidayListView.as_view(), name="holidays"),
    path("holidays/<id:pk>/delete/", holidays.HolidayDeleteView.as_view(), name="holiday_delete"),
    path("experts/", experts.ExpertListView.as_view(), name="experts"),
    path("experts/new/", experts.ExpertCreateView.as_view(), name="expert_new"),
    path("experts/export.xlsx", experts.ExpertExportView.as_view(), name="expert_export"),
    path("experts/<id:pk>/active/", experts.ExpertActiveView.as_view(), name="expert_active"),
    # national office: method versions and benchmarks
    path("methods/", methods.MethodListView.as_view(), name="methods"),
    path("methods/<id:pk>/", methods.MethodDetailView.as_view(), name="method"),
    path("methods/<id:pk>/copy/", methods.MethodCopyView.as_view(), name="method_copy"),
    path("methods/<id:pk>/activate/", methods.MethodActivateView.as_view(), name="method_activate"),
    path("methods/<id:pk>/indicators/new/", methods.IndicatorEditView.as_view(), name="indicator_new"),
    path("indicators/<id:pk>/edit/", methods.IndicatorEditView.as_view(), name="indicator_edit"),
    path("indicators/<id:pk>/delete/", methods.IndicatorDeleteView.as_view(), name="indicator_delete"),
    path("benchmarks/", benchmarks.BenchmarkListView.as_view(), name="benchmarks"),
    path("benchmarks/<id:pk>/", benchmarks.BenchmarkSetView.as_view(), name="benchmark_set"),
    path("benchmarks/<id:pk>/export.xlsx", benchmarks.BenchmarkExportView.as_view(), name="benchmark_export"),
    # national office: what-if across method versions (nothing written)
    path("what-if/", whatif.WhatIfView.as_view(), name="whatif"),
    path("what-if/export.xlsx", whatif.WhatIfExportView.as_view(), name="whatif_export"),
    path("what-if/runs/<id:pk>/", whatif.WhatIfRunView.as_view(), name="whatif_run"),
    path("what-if/runs/<id:pk>/export.xlsx", whatif.WhatIfRunExportView.as_view(), name="whatif_run_export"),
    # national office, reviewers, ports: certificates and their life
    path("certificates/", certificates.CertificateListView.as_view(), name="certificates"),
    path("certificates/<id:pk>/revoke/", certificates.CertificateRevokeView.as_view(), name="certificate_revoke"),
    # every participant: a candidate's result with its explanation (scoped)
    path("candidates/<id:pk>/", participants.CandidateView.as_view(), name="candidate"),
    path("candidates/<id:pk>/info/", participants.CandidateInfoView.as_view(), name="candidate_info"),
    path("candidates/<id:pk>/attachment/", documents.AttachmentView.as_view(), name="attachment"),
    path("candidates/<id:pk>/certificate.pdf", documents.CertificateView.as_view(), name="certificate"),
    # enterprises
    path("mine/", participants.MyCandidatesView.as_view(), name="mine"),
    path("self-check/<id:version_pk>/", participants.SelfCheckView.as_view(), name="self_check"),
    # ports
    path("region/", ports.RegionResultsView.as_view(), name="region"),
    path("region/export.xlsx", ports.RegionExportView.as_view(), name="region_export"),
    # experts
    path("expert/", scoring.ExpertHomeView.as_view(), name="expert_home"),
    path("expert/assignments/<id:pk>/", scoring.AssignmentView.as_view(), name="assignment"),
]
