from django.urls import path

from filings.views import enterprise as v

urlpatterns = [
    path("", v.EnterpriseHomeView.as_view(), name="home"),
    path("register/", v.RegisterView.as_view(), name="register"),
    path("regions/", v.RegionOptionsView.as_view(), name="regions"),
    path("unit/", v.UnitEditView.as_view(), name="unit_edit"),
    path("members/", v.MembersView.as_view(), name="members"),
    path("products/export/", v.ProductsExportView.as_view(), name="products_export"),
    path("products/new/", v.ProductNewView.as_view(), name="product_new"),
    path("products/<int:pk>/yearly-update/", v.ProductYearlyUpdateView.as_view(), name="product_yearly_update"),
    path("versions/<int:pk>/", v.VersionDetailView.as_view(), name="version"),
    path("versions/<int:pk>/edit/", v.VersionEditView.as_view(), name="version_edit"),
    path("versions/<int:pk>/submit/", v.VersionSubmitView.as_view(), name="version_submit"),
    path("versions/<int:pk>/withdraw/", v.VersionWithdrawView.as_view(), name="version_withdraw"),
    path("versions/<int:pk>/delete/", v.VersionDeleteView.as_view(), name="version_delete"),
    path("versions/<int:pk>/opt-in/", v.VersionOptInView.as_view(), name="version_opt_in"),
    path("images/<int:pk>/", v.ImageView.as_view(), name="image"),
    path("patents/", v.PatentListView.as_view(), name="patents"),
    path("patents/new/", v.PatentNewView.as_view(), name="patent_new"),
    path("patents/export/", v.PatentsExportView.as_view(), name="patents_export"),
    path("patents/<int:pk>/edit/", v.PatentEditView.as_view(), name="patent_edit"),
    path("patents/<int:pk>/delete/", v.PatentDeleteView.as_view(), name="patent_delete"),
]
