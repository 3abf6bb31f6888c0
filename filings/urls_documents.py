from django.urls import path

from filings.views import documents

urlpatterns = [
    path("receipts/<id:pk>.pdf", documents.ReceiptView.as_view(), name="receipt"),
]
