from django.urls import path

from filings.views import public

urlpatterns = [
    path("", public.PublicSearchView.as_view(), name="search"),
    path("images/<id:pk>/", public.PublicImageView.as_view(), name="image"),
    path("<str:filing_number>/", public.PublicProductView.as_view(), name="product"),
]
