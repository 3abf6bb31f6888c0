from django.urls import path

from filings.views import documents

urlpatterns = [
    path("receipts/<int:pk>.pdf", documents.ReceiptView.as_view(), name="receipt"),
]
