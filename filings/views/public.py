"""Public pages, no login: search approved products and open a product page with its patents.

Only published data appear: products with an approved version (`Product.objects.public()`), shown
through their `published_version`. Figures (sales, exports, output) and contacts are never shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from filings import marking
from filings.models import Product, ProductClass, ProductImage
from filings.search import COUNT_CAP, text_query
from filings.views.review import province_choices, serve_image
from patent_platform.ratelimit import rate_limit
from patent_platform.replica import ReplicaReadsMixin
from patent_platform.views.base import PublicTemplateView

if TYPE_CHECKING:
    from django.core.paginator import _SupportsPagination


class PublicSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("关键词"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("产品名称、单位名称、产品备案号或专利号"),
    )
    product_class = forms.ModelChoiceField(
        label=gettext_lazy("产品分类"),
        queryset=ProductClass.objects.filter(is_active=True),
        required=False,
        empty_label=gettext_lazy("全部分类"),
    )
    province = forms.ChoiceField(label=gettext_lazy("地区"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["province"]).choices = [("", _("全部地区")), *province_choices()]


class CappedPaginator(Paginator):
    """Counts at most `COUNT_CAP` + 1 rows (filings/search.py): a common word's results are "more than
    1,000" and the pages go as far as the cap; counting every match was the search's cost at scale."""

    object_list: QuerySet[Any]  # the search's ids (PublicSearchView.paginate_queryset)

    @property
    def count(self) -> int:
        if not hasattr(self, "_capped_count"):
            self._capped_count = self.object_list.order_by()[: COUNT_CAP + 1].count()  # unordered: the index
        return min(self._capped_count, COUNT_CAP)

    @property
    def capped(self) -> bool:
        return self.count == COUNT_CAP and self._capped_count > COUNT_CAP


@rate_limit("search", methods=("GET", "HEAD"))
class PublicSearchView(ReplicaReadsMixin, ListView):
    """Search filed (approved) products by keyword, class and province."""

    scope_policy: ClassVar[str] = "public"
    template_name = "filings/public/search.html"
    context_object_name = "products"
    paginate_by = 20
    paginator_class = CappedPaginator

    def get_queryset(self) -> QuerySet[Product]:
        self.form = PublicSearchForm(self.request.GET or None)
        qs = Product.objects.public()
        values: dict[str, Any] = {}
        if self.form.is_bound:
            self.form.is_valid()
            values = self.form.cleaned_data
        if text := (values.get("q") or "").strip():
            qs = qs.filter(text_query(text))
        if product_class := values.get("product_class"):
            qs = qs.filter(published_version__product_class=product_class)
        if province := values.get("province"):
            qs = qs.filter(province_code=province)
        self.searched = bool(text or product_class or province)
        return qs.order_by("-id")

    def paginate_queryset(
        self, queryset: _SupportsPagination[Product], page_size: int
    ) -> tuple[Any, Any, _SupportsPagination[Product], bool]:
        if not isinstance(queryset, QuerySet):  # get_queryset's is one
            return super().paginate_queryset(queryset, page_size)
        # The page's ids first, then those rows with their relations by primary key: joined into the filtered
        # query, the five relations made PostgreSQL join every public product before the search's semi-join
        # (93 ms for a patent number with 2 results at 10k products; 0.3 ms this way).
        paginator, page, ids, is_paginated = super().paginate_queryset(queryset.values_list("pk", flat=True), page_size)
        rows = Product.objects.select_related(
            "published_version__product_class", "unit__region__parent__parent"
        ).in_bulk(list(ids))
        page.object_list = [rows[pk] for pk in ids]
        return paginator, page, page.object_list, is_paginated

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(form=self.form, query=query.urlencode(), searched=self.searched)
        return context


class PublicProductView(PublicTemplateView):
    """A filed product's public page (virtual marking, 专利标识): the published version, the unit, images, each
    patent with its legal status now and when that status was last checked, and the product's certificates
    with their status today. The receipt's and the certificate's QR codes lead here.

    Nothing here is cached: every request reads the rows, so a status an import changes shows as soon as the
    import commits (and `Cache-Control: no-cache` makes browsers and proxies ask again). A product whose
    filing has ended (revoked or withdrawn: no approved version left) answers 410 with that notice and its
    certificates (ended with it), so a printed QR code never leads to a bare "not found"."""

    template_name = "filings/public/product.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        number = self.kwargs["filing_number"]
        if not Product.objects.public().filter(filing_number=number).exists():
            ended = get_object_or_404(Product.objects.filter(filing_number=number).select_related("unit"))
            context = {"product": ended, "certificates": marking.certificates_of(ended.pk)}
            response = render(request, "filings/public/product_ended.html", context, status=410)
        else:
            response = super().get(request, *args, **kwargs)
        response["Cache-Control"] = "no-cache"
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        product = get_object_or_404(
            Product.objects.public().select_related("published_version__product_class", "unit__region__parent__parent"),
            filing_number=self.kwargs["filing_number"],
        )
        version = product.published_version
        # The certificates come from the evaluation app (above this one) through `filings.marking`.
        context.update(
            certificates=marking.certificates_of(product.pk),
            product=product,
            version=version,
            unit=product.unit,
            images=version.images.all(),
            links=version.links.select_related("right__patent"),
        )
        return context


class PublicImageView(View):
    """An image of a published version; any other image (drafts, pending, revoked) answers 404."""

    scope_policy: ClassVar[str] = "public"

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        published = Product.objects.public().values("published_version_id")
        image = get_object_or_404(ProductImage.objects.filter(version_id__in=published), pk=pk)
        response = serve_image(image)
        response["Cache-Control"] = "public, max-age=3600"
        return response
