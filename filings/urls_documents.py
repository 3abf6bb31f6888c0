from django.urls import path

from filings.views import documents, identity

urlpatterns = [
    path("receipts/<id:pk>.pdf", documents.ReceiptView.as_view(), name="receipt"),
    path("identity/<id:pk>/<slug:which>/", identity.ProofView.as_view(), name="identity_proof"),
]
