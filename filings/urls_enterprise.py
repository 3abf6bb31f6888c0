from django.urls import path

from filings.views import enterprise as v
from filings.views import identity

urlpatterns = [
    path("", v.EnterpriseHomeView.as_view(), name="home"),
    path("register/", v.RegisterView.as_view(), name="register"),
    path("claim/", identity.ClaimView.as_view(), name="claim"),
    path("identity/", identity.UnitIdentityView.as_view(), name="identity"),
    path("regions/", v.RegionOptionsView.as_view(), name="regions"),
    path("unit/", v.UnitEditView.as_view(), name="unit_edit"),
    path("members/", v.MembersView.as_view(), name="members"),
    path("products/export/", v.ProductsExportView.as_view(), name="products_export"),
    path("products/new/", v.ProductNewView.as_view(), name="product_new"),
    path("products/<id:pk>/yearly-update/", v.ProductYearlyUpdateView.as_view(), name="product_yearly_update"),
    path("versions/<id:pk>/", v.VersionDetailView.as_view(), name="version"),
    path("versions/<id:pk>/edit/", v.VersionEditView.as_view(), name="version_edit"),
    path("versions/<id:pk>/submit/", v.VersionSubmitView.as_view(), name="version_submit"),
    path("versions/<id:pk>/withdraw/", v.VersionWithdrawView.as_view(), name="version_withdraw"),
    path("versions/<id:pk>/delete/", v.VersionDeleteView.as_view(), name="version_delete"),
    path("versions/<id:pk>/opt-in/", v.VersionOptInView.as_view(), name="version_opt_in"),
    path("images/<id:pk>/", v.ImageView.as_view(), name="image"),
    path("patents/", v.PatentListView.as_view(), name="patents"),
    path("patents/new/", v.PatentNewView.as_view(), name="patent_new"),
    path("patents/export/", v.PatentsExportView.as_view(), name="patents_export"),
    path("patents/<id:pk>/edit/", v.PatentEditView.as_view(), name="patent_edit"),
    path("patents/<id:pk>/delete/", v.PatentDeleteView.as_view(), name="patent_delete"),
]
