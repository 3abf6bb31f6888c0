"""Filing statements (namespace `statements`): the enterprise's own, the administrators' lookup and list,
the PDF, and the public verification page where the statement's QR code points."""

from django.urls import path

from provincial.views import statements as v

urlpatterns = [
    path("statements/", v.StatementListView.as_view(), name="list"),
    path("statements/export/", v.StatementExportView.as_view(), name="export"),
    path("statements/mine/", v.MyStatementsView.as_view(), name="mine"),
    path("statements/units/<id:pk>/", v.UnitStatementsView.as_view(), name="unit"),
    path("statements/<id:pk>/pdf/", v.StatementPdfView.as_view(), name="pdf"),
    path("verify/statement/<str:token>/", v.VerifyView.as_view(), name="verify"),
]
