from django.urls import path

from provincial.views import dashboard

urlpatterns = [path("", dashboard.PortHomeView.as_view(), name="home")]
