"""/certified/: certified products, lists under publicity with the objection form, certificate verification."""

from django.urls import path

from evaluation.views import public

urlpatterns = [
    path("", public.CertifiedListView.as_view(), name="list"),
    path("publicity/<id:pk>/", public.PublicityView.as_view(), name="publicity"),
    path("publicity/objection/<id:pk>/", public.ObjectionView.as_view(), name="objection"),
    path("verify/<str:number>/", public.VerifyView.as_view(), name="verify"),
]
