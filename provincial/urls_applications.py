"""/ports/apply/: the public application form of a management port (no login)."""

from django.urls import path

from provincial.views import applications as v

urlpatterns = [
    path("", v.ApplyView.as_view(), name="new"),
    path("done/", v.ApplyDoneView.as_view(), name="done"),
]
