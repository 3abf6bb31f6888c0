"""The enterprise's webhook pages (filings/views/webhooks.py), under /enterprise/webhooks/."""

from django.urls import path

from filings.views import webhooks as v

urlpatterns = [
    path("", v.WebhookListView.as_view(), name="list"),
    path("<id:pk>/", v.WebhookDetailView.as_view(), name="detail"),
    path("<id:pk>/verify/", v.WebhookVerifyView.as_view(), name="verify"),
    path("<id:pk>/disable/", v.WebhookDisableView.as_view(), name="disable"),
    path("<id:pk>/enable/", v.WebhookEnableView.as_view(), name="enable"),
    path("<id:pk>/delete/", v.WebhookDeleteView.as_view(), name="delete"),
    path("<id:pk>/deliveries/<id:delivery_pk>/replay/", v.WebhookReplayView.as_view(), name="replay"),
]
