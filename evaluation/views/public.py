"""Public pages of the certification, no login: the certified products, the lists under publicity (公示)
with the objection form, and the verification of a certificate (where its QR code points).

Only published data appear: the certificates held today ("certified as of D", evaluation/lifecycle.py
`certified_as_of`, each with its status: valid or suspended, and why), every certificate ever issued on its
verification page (revoked and expired ones say so), and the proposed products of rounds under publicity.
What a product is, who made it and where: never its figures, indicator values, expert scores, contacts or
who objected.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from evaluation import lifecycle, publicity
from evaluation.certificates import ISSUER, certificate_facts
from evaluation.choices import CandidateStatus, CertificateCause, Stage
from evaluation.models import Candidate, CertificateEvent, Objection, Round
from filings.forms import BootstrapFormMixin, apply_service_errors
from filings.models import Product, ProductClass
from filings.views.review import province_choices
from patent_platform.clock import china_today
from patent_platform.exports import xlsx_response
from patent_platform.middleware import client_ip
from patent_platform.ratelimit import rate_limit
from patent_platform.views import signature
from patent_platform.views.base import PublicTemplateView

LODGED_KEY = "certified_objection_lodged"


def certified() -> QuerySet[Candidate]:
    """The certificates held today (the one rule: `lifecycle.certified_as_of`), with what the public pages
    show; `standing` gives each one's status today."""
    return (
        lifecycle.certified_as_of()
        .annotate(product_public=Exists(Product.objects.public().filter(pk=OuterRef("product_id"))))
        .select_related("round__method", "version", "product", "product_class", "unit__region__parent__parent")
    )


def rounds_under_publicity() -> QuerySet[Round]:
    """Rounds whose proposed list is public now (read through the candidates the public may see)."""
    public = Candidate.objects.public().filter(status=CandidateStatus.PROPOSED).values("round_id")
    return Round.objects.filter(stage=Stage.PUBLICITY, pk__in=public).order_by("publicity_end", "pk")


class CertifiedSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("关键词"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("产品名称、单位名称、证书编号或产品备案号"),
    )
    product_class = forms.ModelChoiceField(
        label=gettext_lazy("产品分类"),
        queryset=ProductClass.objects.filter(is_active=True),
        required=False,
        empty_label=gettext_lazy("全部分类"),
    )
    province = forms.ChoiceField(label=gettext_lazy("地区"), required=False)
    year = forms.TypedChoiceField(label=gettext_lazy("数据年度"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["province"]).choices = [("", _("全部地区")), *province_choices()]
        cast(forms.ChoiceField, self.fields["year"]).choices = [("", _("全部年度")), *((y, str(y)) for y in years)]


def text_query(text: str) -> Q:
    compact = text.replace(" ", "")
    return (
        Q(version__name__icontains=text)
        | Q(unit__name__icontains=text)
        | Q(certificate_number__iexact=compact)
        | Q(product__filing_number__iexact=compact)
    )


@rate_limit("search", methods=("GET", "HEAD"))
class CertifiedListView(ListView):
    """The final lists: certified products, searchable; and the lists under publicity now."""

    scope_policy: ClassVar[str] = "public"
    template_name = "evaluation/public/list.html"
    context_object_name = "candidates"
    paginate_by = 20

    def get_queryset(self) -> QuerySet[Candidate]:
        published = lifecycle.certified_as_of()
        years = sorted(set(published.values_list("round__data_year", flat=True)), reverse=True)
        self.form = CertifiedSearchForm(self.request.GET or None, years=years)
        values: dict[str, Any] = {}
        if self.form.is_bound:
            self.form.is_valid()
            values = self.form.cleaned_data
        qs = certified()
        if text := (values.get("q") or "").strip():
            qs = qs.filter(text_query(text))
        if product_class := values.get("product_class"):
            qs = qs.filter(product_class=product_class)
        if province := values.get("province"):
            qs = qs.filter(province_code=province)
        if year := values.get("year"):
            qs = qs.filter(round__data_year=year)
        self.searched = bool(text or product_class or province or year)
        return qs.order_by("-round__data_year", "certificate_number")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("export") == "xlsx":
            return self.export()
        return super().get(request, *args, **kwargs)

    def export(self) -> HttpResponse:
        candidates = self.get_queryset()
        headers = [
            _("证书编号"),
            _("产品名称"),
            _("型号规格"),
            _("产品分类"),
            _("认定单位"),
            _("所在地区"),
            _("数据年度"),
            _("认定批次"),
            _("认定日期"),
            _("产品备案号"),
            _("评价依据（标准）"),
            _("评价方法版本"),
            _("证书状态"),
            _("状态说明"),
            _("有效期至"),
        ]
        today = china_today()
        rows = (
            [
                c.certificate_number,
                c.version.name,
                c.version.model,
                c.product_class.name,
                c.unit.name,
                c.unit.region.full_name,
                c.round.data_year,
                c.round.name,
                c.certified_at.date() if c.certified_at else None,
                c.product.filing_number,
                c.round.method.standard_designation,
                c.round.method.code,
                *_standing_cells(c, today),
            ]
            for c in candidates.iterator(chunk_size=500)
        )
        return xlsx_response(
            filename=f"{_('专利密集型产品认定名单')}.xlsx",
            title=_("专利密集型产品认定名单"),
            headers=headers,
            rows=rows,
            object_type="evaluation.candidate",
            changes={"query": self.request.GET.urlencode()},
            actor=self.request.user,
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        today = china_today()
        under_publicity = [(rnd, publicity.publicity_open(rnd, today)) for rnd in rounds_under_publicity()]
        for candidate in context["candidates"]:
            candidate.standing = lifecycle.standing(candidate, today)
        context.update(form=self.form, query=query.urlencode(), searched=self.searched, publicity=under_publicity)
        return context


def _standing_cells(candidate: Candidate, today: Any) -> list[Any]:
    state = lifecycle.standing(candidate, today)
    return [state.label, "；".join(state.reasons), candidate.valid_until]


class PublicityView(PublicTemplateView):
    """The proposed list of a round under publicity, with the rule and a link to object per product."""

    template_name = "evaluation/public/publicity.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.round = get_object_or_404(Round.objects.filter(stage=Stage.PUBLICITY), pk=self.kwargs["pk"])
        if request.GET.get("export") == "xlsx":
            return self.export()
        return super().get(request, *args, **kwargs)

    def proposed(self) -> QuerySet[Candidate]:
        return (
            Candidate.objects.public()
            .filter(round=self.round, status=CandidateStatus.PROPOSED)
            .select_related("version", "product_class", "unit__region__parent__parent", "product")
            .order_by("product_class__code", "pk")
        )

    def export(self) -> HttpResponse:
        headers = [
            _("序号"),
            _("产品名称"),
            _("型号规格"),
            _("产品分类"),
            _("申报单位"),
            _("所在地区"),
            _("产品备案号"),
        ]
        rows = (
            [
                i,
                c.version.name,
                c.version.model,
                c.product_class.name,
                c.unit.name,
                c.unit.region.full_name,
                c.product.filing_number,
            ]
            for i, c in enumerate(self.proposed(), start=1)
        )
        return xlsx_response(
            filename=f"{_('拟认定名单')}-{self.round.pk}.xlsx",
            title=_("拟认定名单"),
            headers=headers,
            rows=rows,
            object_type="evaluation.round",
            changes={"round": self.round.pk},
            actor=self.request.user,
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rnd = self.round
        candidates = list(self.proposed())
        today = china_today()
        context.update(
            round=rnd,
            candidates=candidates,
            open=publicity.publicity_open(rnd, today),
            not_started=bool(rnd.publicity_start and today < rnd.publicity_start),
        )
        return context


class ObjectionForm(BootstrapFormMixin, forms.Form):
    # The rules (what must be given) are the service's; the form only bounds the lengths of the columns.
    name = forms.CharField(
        label=gettext_lazy("异议人（单位或姓名）"),
        max_length=Objection._meta.get_field("name").max_length,
        required=False,
    )
    contact = forms.CharField(
        label=gettext_lazy("联系方式"),
        max_length=Objection._meta.get_field("contact").max_length,
        required=False,
        help_text=gettext_lazy("电话或电子邮箱，用于反馈处理结果，不会公开"),
    )
    reasons = forms.CharField(
        label=gettext_lazy("异议理由"),
        max_length=Objection._meta.get_field("reasons").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("请写明事实和依据（不少于 10 个字），可附上相关专利号或公开资料的出处"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


@rate_limit("objection")
class ObjectionView(View):
    """Lodge an objection against a product on a list under publicity (anyone, while the publicity lasts)."""

    scope_policy: ClassVar[str] = "public"
    template_name = "evaluation/public/objection.html"

    def candidate(self, pk: int) -> Candidate:
        qs = Candidate.objects.public().filter(status=CandidateStatus.PROPOSED)
        return get_object_or_404(qs.select_related("round", "version", "unit", "product_class"), pk=pk)

    def render(self, candidate: Candidate, form: ObjectionForm | None, **extra: Any) -> HttpResponse:
        status = extra.pop("status", 200)
        context = {
            "candidate": candidate,
            "round": candidate.round,
            "form": form,
            "open": publicity.publicity_open(candidate.round),
            **extra,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        candidate = self.candidate(pk)
        if request.session.get(LODGED_KEY) == candidate.pk:
            # after the redirect of a successful POST (a reload does not lodge it twice)
            del request.session[LODGED_KEY]
            return render(request, "evaluation/public/objection_done.html", {"candidate": candidate})
        return self.render(candidate, ObjectionForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        candidate = self.candidate(pk)
        form = ObjectionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                publicity.objection_lodge(
                    candidate_id=candidate.pk,
                    name=data["name"],
                    contact=data["contact"],
                    reasons=data["reasons"],
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) == "publicity_closed":
                    return self.render(candidate, form, closed_error=exc.messages[0], status=409)
                apply_service_errors(form, exc)
            else:
                request.session[LODGED_KEY] = candidate.pk
                return HttpResponseRedirect(request.path)
        return self.render(candidate, form, status=400)


def public_history(candidate: Candidate) -> list[dict[str, Any]]:
    """A certificate's history as the public sees it: when, the new status, why (never who)."""
    rows = []
    for event in CertificateEvent.objects.filter(candidate=candidate).order_by("at", "pk"):
        details = event.details or {}
        why = ""
        if event.cause == CertificateCause.PATENT_ENDED:
            why = lifecycle.patents_reason(details.get("patents", []))
        elif event.cause == CertificateCause.UPDATE_MISSED:
            why = lifecycle.update_reason(details.get("update_year", ""))
        elif event.reason:
            why = event.reason
        rows.append(
            {"at": event.at, "status": event.get_to_status_display(), "cause": event.get_cause_display(), "why": why}
        )
    return rows


@rate_limit("search", methods=("GET", "HEAD"))
class VerifyView(PublicTemplateView):
    """A certificate by its number: what was certified, to whom, when, its validity and its status today with
    the reasons and its history (every certificate ever issued: a revoked or expired one says so)."""

    template_name = "evaluation/public/verify.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(request, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """An uploaded certificate PDF: its SM2 signature, and whether it is this certificate's."""
        return self.page(request, check=True, **kwargs)

    def page(self, request: HttpRequest, check: bool = False, **kwargs: Any) -> HttpResponse:
        number = self.kwargs["number"].strip().upper()
        candidate = (
            lifecycle.with_standing(lifecycle.issued())
            .select_related("round__method", "version", "product", "product_class", "unit")
            .filter(certificate_number=number)
            .first()
        )
        if candidate is None:
            return render(request, "evaluation/public/verify_missing.html", {"number": number}, status=404)
        state = lifecycle.standing(candidate)
        product_public = bool(
            candidate.product.filing_number and Product.objects.public().filter(pk=candidate.product_id).exists()
        )
        context = self.get_context_data(**kwargs)
        context.update(
            candidate=candidate,
            number=number,
            standard=candidate.round.method.standard_label,
            issuer=ISSUER,
            standing=state,
            product_public=product_public,
            history=public_history(candidate),
            sig_form=signature.SignatureCheckForm(),
            sig_expected=True,
            **signature.key_context(),
        )
        status = 200
        if check:
            verify_url = request.build_absolute_uri(reverse("certified:verify", args=[number]))
            context.update(signature.check_upload(request, expected=certificate_facts(candidate, verify_url)))
            status = 200 if context["sig_form"].is_valid() else 400
        response = self.render_to_response(context, status=status)
        response["Cache-Control"] = "no-cache"  # a status changes when an import commits: always revalidate
        return response
