from django.urls import path

from filings.views import enterprise as v
from filings.views import identity, patents, versions

urlpatterns = [
    path("", v.EnterpriseHomeView.as_view(), name="home"),
    path("register/", v.RegisterView.as_view(), name="register"),
    path("claim/", identity.ClaimView.as_view(), name="claim"),
    path("identity/", identity.UnitIdentityView.as_view(), name="identity"),
    path("regions/", v.RegionOptionsView.as_view(), name="regions"),
    path("unit/", v.UnitEditView.as_view(), name="unit_edit"),
    path("members/", v.MembersView.as_view(), name="members"),
    path("products/export/", v.ProductsExportView.as_view(), name="products_export"),
    path("products/new/", versions.ProductNewView.as_view(), name="product_new"),
    path("products/<id:pk>/yearly-update/", versions.ProductYearlyUpdateView.as_view(), name="product_yearly_update"),
    path("versions/<id:pk>/", versions.VersionDetailView.as_view(), name="version"),
    path("versions/<id:pk>/edit/", versions.VersionEditView.as_view(), name="version_edit"),
    path("versions/<id:pk>/submit/", versions.VersionSubmitView.as_view(), name="version_submit"),
    path("versions/<id:pk>/withdraw/", versions.VersionWithdrawView.as_view(), name="version_withdraw"),
    path("versions/<id:pk>/delete/", versions.VersionDeleteView.as_view(), name="version_delete"),
    path("versions/<id:pk>/opt-in/", versions.VersionOptInView.as_view(), name="version_opt_in"),
    path("images/<id:pk>/", versions.ImageView.as_view(), name="image"),
    path("patents/", patents.PatentListView.as_view(), name="patents"),
    path("patents/new/", patents.PatentNewView.as_view(), name="patent_new"),
    path("patents/export/", patents.PatentsExportView.as_view(), name="patents_export"),
    path("patents/<id:pk>/edit/", patents.PatentEditView.as_view(), name="patent_edit"),
    path("patents/<id:pk>/delete/", patents.PatentDeleteView.as_view(), name="patent_delete"),
]
