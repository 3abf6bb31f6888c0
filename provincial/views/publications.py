"""The monthly publications and the year-end evaluations: the pages that list them, the downloads, and the
national office's rebuild and year-end forms with the build progress per port.

- `/port/publications/`: a port administrator's publications by month (its own port and the ports
  inside its scope: a province sees its city ports' too), monthly and year-end apart, `?port=<code>`
  for one port (outside the scope: 404). National administrators use the same page as the history of
  one port (`?port=<code>`, or `?port=NATIONAL` for the national office's own); without `?port=` they
  are sent to their own page.
- `/port/publications/<pk>/<xlsx|pdf>/`: the file, for everyone who sees the row
  (`Publication.objects.visible_to`; otherwise 404); audited; never cached. While a publication is
  rebuilt its previous files stay downloadable until the new ones replace them.
- `/national/publications/`: every open port and the national office for one month (and the year-end
  evaluation of one year) with status, progress and errors; while a row is pending or building the
  table polls its partial every 2 s (htmx) and stops when every row is ready or failed. The forms call
  `provincial.publications.services.publication_rebuild_request` / `publication_yearend_request`; their errors are
  shown on the page with the input kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings.forms import apply_service_errors
from filings.views.documents import attachment_header
from patent_platform import audit, clock
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict
from patent_platform.exports import xlsx_response
from patent_platform.i18n import localized_name
from patent_platform.params import YEAR_MAX
from patent_platform.roles import signed_in
from patent_platform.scoping import scope_of
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin
from provincial.choices import PublicationKind, PublicationStatus, SignoffState
from provincial.models import NATIONAL_SCOPE, ManagementUnit, MonthSignoff, Publication
from provincial.publications import files, services

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from patent_platform.scoping import Reader

PUBLICATION_ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
NATIONAL = frozenset({Role.NATIONAL_ADMIN})
ALL_PORTS = "ALL"
RUNNING = (PublicationStatus.PENDING, PublicationStatus.BUILDING)
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
FIRST_YEAR = 2022  # the notice (国知办函运字〔2022〕985号): no publication before it


# ---------------------------------------------------------------------------------------------
# Periods


def period_label(publication: Publication) -> str:
    if publication.kind == PublicationKind.YEAREND:
        return _("%(year)s 年度") % {"year": publication.period.year}
    return _("%(year)s 年 %(month)s 月") % {"year": publication.period.year, "month": publication.period.month}


def owner_name(publication: Publication) -> str:
    return localized_name(publication.unit) if publication.unit_id else _("全国")


def ascii_name(publication: Publication, ext: str) -> str:
    """The ASCII fallback of the Chinese download name (`files.download_name`)."""
    stem = f"{publication.kind}-{publication.scope_key}-"
    stem += (
        f"{publication.period.year}" if publication.kind == PublicationKind.YEAREND else f"{publication.period:%Y-%m}"
    )
    edition = publication.file_edition(ext)
    return f"{stem}-r{edition}.{ext}" if edition > 1 else f"{stem}.{ext}"


def downloadable(publication: Publication, ext: str) -> bool:
    """A file exists: a ready publication's, or while it is rebuilt the previous revision's (it stays in
    place until the new file replaces it)."""
    return bool(getattr(publication, f"{ext}_file"))


# ---------------------------------------------------------------------------------------------
# The port's page: its publications by month


class PublicationScopeMixin(ScopedViewMixin):
    """The publications the user sees, optionally narrowed with `?port=<code>` to one port inside the
    scope (`NATIONAL`: the national office's own, national administrators only); any other code 404."""

    roles = PUBLICATION_ROLES
    model = Publication

    def port_filter(self) -> tuple[str, ManagementUnit | None]:
        code = self.request.GET.get("port", "").strip()
        if not code:
            return "", None
        if code == NATIONAL_SCOPE:
            if not scope_of(self.request.user).everything:
                raise Http404
            return code, None
        unit = ManagementUnit.objects.visible_to(self.request.user).filter(code=code).first()
        if unit is None:
            raise Http404
        return code, unit

    def publications(self) -> QuerySet[Publication]:
        code, _unit = self.port_filter()
        qs = self.scoped_queryset().select_related("unit")
        if code:
            qs = qs.filter(scope_key=code)
        return qs.order_by("-period", "scope_key")

    def port_choices(self) -> list[tuple[str, str]]:
        """The ports the filter offers: those in scope that are open or have a publication."""
        units = ManagementUnit.objects.visible_to(self.request.user)
        with_rows = self.scoped_queryset().filter(unit__isnull=False).values("unit_id")
        units = units.filter(Q(is_open=True) | Q(pk__in=with_rows)).order_by("code")
        choices = [(u.code, localized_name(u)) for u in units]
        if scope_of(self.request.user).everything:
            choices.insert(0, (NATIONAL_SCOPE, _("全国")))
        return choices


class SignoffStateOf(TypedDict):
    """The annotation of `with_signoff_states`."""

    signoff_state: str | None


def with_signoff_states(
    user: Reader, publications: QuerySet[Publication]
) -> QuerySet[WithAnnotations[Publication, SignoffStateOf]]:
    """Each port's monthly publication gets `signoff_state` (its month's answer: open, signed, problem) for the
    list's 确认 column; the national publication (the ports do not sign it) and the year-end ones get None."""
    answer = MonthSignoff.objects.visible_to(user).filter(unit_id=OuterRef("unit_id"), period=OuterRef("period"))
    return publications.annotate(
        signoff_state=Case(
            When(
                kind=PublicationKind.MONTHLY,
                unit__isnull=False,
                then=Coalesce(Subquery(answer.values("state")[:1]), Value(SignoffState.OPEN.value)),
            ),
            default=Value(None),
            output_field=CharField(),
        )
    )


class PortPublicationsView(PublicationScopeMixin, ScopedTemplateView):
    template_name = "provincial/publications/port.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if signed_in(request).role == Role.NATIONAL_ADMIN and not request.GET.get("port", "").strip():
            return HttpResponseRedirect(reverse("national:publications"))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        code, unit = self.port_filter()
        rows = list(with_signoff_states(self.request.user, self.publications()))
        choices = self.port_choices()
        shown = unit or getattr(getattr(self.request.user, "port_membership", None), "unit", None)
        title = _("全国") if code == NATIONAL_SCOPE else (localized_name(shown) if shown else "")
        monthly = [p for p in rows if p.kind == PublicationKind.MONTHLY]
        context.update(
            port_code=code,
            port_choices=choices,
            show_filter=len(choices) > 1,
            show_owner=not code and len(choices) > 1,
            title=title,
            monthly=monthly,
            yearend=[p for p in rows if p.kind == PublicationKind.YEAREND],
            export_url=reverse("port:publications_export") + (f"?{urlencode({'port': code})}" if code else ""),
            is_national=signed_in(self.request).role == Role.NATIONAL_ADMIN,
        )
        return context


EXPORT_HEADERS = (
    gettext_lazy("管理端口"),
    gettext_lazy("端口代码"),
    gettext_lazy("类型"),
    gettext_lazy("期间"),
    gettext_lazy("状态"),
    gettext_lazy("版次"),
    gettext_lazy("数据截至"),
    gettext_lazy("生成时间"),
    gettext_lazy("Excel 大小（字节）"),
    gettext_lazy("PDF 大小（字节）"),
    gettext_lazy("Excel SHA-256"),
    gettext_lazy("PDF SHA-256"),
    gettext_lazy("错误信息"),
)


class PortPublicationsExportView(PublicationScopeMixin, View):
    """The list of the page as Excel (the same rows: the user's scope, `?port=` kept)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        qs = self.publications()

        def rows() -> Iterator[list[Any]]:
            for p in qs.iterator(chunk_size=500):
                yield [
                    owner_name(p),
                    "" if p.scope_key == NATIONAL_SCOPE else p.scope_key,
                    str(p.get_kind_display()),
                    period_label(p),
                    str(p.get_status_display()),
                    p.revision,
                    p.data_as_of,
                    p.built_at,
                    p.xlsx_size or "",
                    p.pdf_size or "",
                    p.xlsx_sha256,
                    p.pdf_sha256,
                    p.error,
                ]

        return xlsx_response(
            filename=f"{_('数据发布')}-{clock.china_today().isoformat()}.xlsx",
            title=_("数据发布"),
            headers=EXPORT_HEADERS,
            rows=rows(),
            object_type=Publication._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="publications export",
            actor=request.user,
        )


class PublicationDownloadView(ScopedViewMixin, View):
    """One file of a ready publication, for everyone who sees the row; every download is audited."""

    roles = PUBLICATION_ROLES
    model = Publication

    def get(self, request: HttpRequest, pk: int, ext: str) -> FileResponse:
        if ext not in CONTENT_TYPES:
            raise Http404
        publication = get_object_or_404(self.scoped_queryset().select_related("unit"), pk=pk)
        if not downloadable(publication, ext):
            raise Http404
        handle = files.open_file(publication, ext)  # 404 if the file is missing on disk
        audit.audit_event(
            action=AuditAction.DOWNLOAD,
            obj=publication,
            actor=request.user,
            changes={"file": ext, "revision": publication.revision, "sha256": getattr(publication, f"{ext}_sha256")},
            message=f"publication {ext}",
        )
        response = FileResponse(handle, content_type=CONTENT_TYPES[ext])
        response["Content-Disposition"] = attachment_header(
            files.download_name(publication, ext), ascii_name(publication, ext)
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# ---------------------------------------------------------------------------------------------
# National: status per port, rebuild, year-end evaluation


class MonthField(forms.Field):
    """A month typed as YYYY-MM (whitespace around it stripped, as a CharField does): its first day."""

    def to_python(self, value: Any) -> dt.date | None:
        text = "" if value in self.empty_values else str(value).strip()
        if not text:
            return None
        period = clock.parse_month(text)
        if period is None or period.year < FIRST_YEAR:
            raise ValidationError(_("请按“年-月”选择月份，例如 2025-03。"), code="invalid")
        if period > clock.previous_month():
            latest = f"{clock.previous_month():%Y-%m}"
            raise ValidationError(_("只能选择已经结束的月份（最近为 %(month)s）。") % {"month": latest})
        return period


def year_field(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(
        min_value=FIRST_YEAR,
        max_value=YEAR_MAX,
        error_messages={
            "invalid": gettext_lazy("请填写四位年份，例如 2025。"),
            "min_value": gettext_lazy("年份不能早于 %(limit_value)s 年。"),
            "max_value": gettext_lazy("请填写四位年份，例如 2025。"),
        },
        **kwargs,
    )


def clean_past_year(year: int | None) -> int | None:
    if year is not None and year > clock.last_year():
        raise ValidationError(_("只能选择已经结束的年度（最近为 %(year)s 年）。") % {"year": clock.last_year()})
    return year


class PeriodForm(forms.Form):
    """What the national page shows: one month of monthly publications and one year of year-end ones."""

    period = MonthField(label=gettext_lazy("月份"), required=False)
    year = year_field(label=gettext_lazy("年度"), required=False)

    def clean_year(self) -> int | None:
        return clean_past_year(self.cleaned_data.get("year"))


def rebuild_port_choices(user: Reader) -> list[tuple[str, str]]:
    units = ManagementUnit.objects.visible_to(user).filter(is_open=True).order_by("code")
    return [
        (ALL_PORTS, _("全部端口（含全国）")),
        (NATIONAL_SCOPE, _("全国")),
        *((u.code, localized_name(u)) for u in units),
    ]


class RebuildForm(forms.Form):
    """Rebuild one period for one port or for all: `period` is a month (monthly) or a year (year-end)."""

    kind = forms.ChoiceField(choices=PublicationKind.choices, widget=forms.HiddenInput)
    period = forms.CharField(label=gettext_lazy("期间"), max_length=7)
    port = forms.ChoiceField(label=gettext_lazy("管理端口"))

    def __init__(self, *args: Any, user: Reader, kind: str = PublicationKind.MONTHLY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["port"]).choices = rebuild_port_choices(user)
        self.for_kind = self.data.get("kind", kind) if self.is_bound else kind
        yearend = self.for_kind == PublicationKind.YEAREND
        self.fields["period"].label = gettext_lazy("年度") if yearend else gettext_lazy("月份")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind, raw = data.get("kind"), data.get("period")
        if kind and raw:
            try:
                if kind == PublicationKind.YEAREND:
                    if not raw.strip().isdigit() or int(raw) < FIRST_YEAR:
                        raise ValidationError(_("请填写四位年份，例如 2025。"))
                    year = int(raw)
                    clean_past_year(year)
                    data["period_date"] = dt.date(year, 1, 1)
                else:
                    data["period_date"] = MonthField().clean(raw)
            except ValidationError as exc:
                self.add_error("period", exc)
        return data

    def target(self) -> dict[str, Any]:
        """The keyword arguments of request_rebuild for the chosen port."""
        port = self.cleaned_data["port"]
        if port == ALL_PORTS:
            return {"unit": None, "all_ports": True}
        if port == NATIONAL_SCOPE:
            return {"unit": None, "all_ports": False}
        return {"unit": ManagementUnit.objects.get(code=port), "all_ports": False}


class YearendForm(forms.Form):
    year = year_field(label=gettext_lazy("评价年度"))

    def clean_year(self) -> int | None:
        return clean_past_year(self.cleaned_data.get("year"))


def period_rows(user: Reader, kind: str, period: dt.date) -> list[dict[str, Any]]:
    """Every open port and the national office for one period, each with its publication (or None)."""
    found = {
        p.scope_key: p
        for p in Publication.objects.visible_to(user).filter(kind=kind, period=period).select_related("unit")
    }
    units = ManagementUnit.objects.visible_to(user).filter(Q(is_open=True) | Q(code__in=list(found))).order_by("code")
    rows = [{"code": NATIONAL_SCOPE, "name": _("全国"), "publication": found.get(NATIONAL_SCOPE)}]
    rows += [{"code": u.code, "name": localized_name(u), "publication": found.get(u.code)} for u in units]
    return rows


def table_context(user: Reader, kind: str, period: dt.date) -> dict[str, Any]:
    rows = period_rows(user, kind, period)
    publications = [r["publication"] for r in rows if r["publication"] is not None]
    label = f"{period.year}" if kind == PublicationKind.YEAREND else f"{period:%Y-%m}"
    return {
        "kind": kind,
        "period": period,
        "period_value": label,
        "rows": rows,
        "running": any(p.status in RUNNING for p in publications),
        "counts": {
            "ready": sum(p.status == PublicationStatus.READY for p in publications),
            "failed": sum(p.status == PublicationStatus.FAILED for p in publications),
            "running": sum(p.status in RUNNING for p in publications),
            "missing": sum(r["publication"] is None for r in rows),
            "total": len(rows),
        },
        "progress_url": reverse("national:publications_progress") + "?" + urlencode({"kind": kind, "period": label}),
    }


class NationalPublicationsView(ScopedTemplateView):
    roles = NATIONAL
    model = Publication
    template_name = "provincial/publications/national.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PeriodForm(request.GET or None)
        valid = form.is_valid() if form.is_bound else True
        context = self.page_context(form if form.is_bound else PeriodForm(), valid=valid)
        return self.render_to_response(context, status=200 if valid else 400)

    def page_context(
        self,
        period_form: PeriodForm,
        *,
        valid: bool = True,
        rebuild_form: RebuildForm | None = None,
        yearend_form: YearendForm | None = None,
    ) -> dict[str, Any]:
        user = self.request.user
        data = period_form.cleaned_data if period_form.is_bound and valid else {}
        period = data.get("period") or clock.previous_month()
        year = data.get("year") or clock.last_year()
        rebuild: dict[str, RebuildForm] = {
            PublicationKind.MONTHLY: RebuildForm(
                user=user, kind=PublicationKind.MONTHLY, initial={"kind": "monthly", "period": f"{period:%Y-%m}"}
            ),
            PublicationKind.YEAREND: RebuildForm(
                user=user, kind=PublicationKind.YEAREND, initial={"kind": "yearend", "period": year}
            ),
        }
        if rebuild_form is not None:
            kind = rebuild_form.for_kind if rebuild_form.for_kind in rebuild else PublicationKind.MONTHLY
            rebuild[kind] = rebuild_form
        context = self.get_context_data()
        context.update(
            period_form=period_form,
            period_valid=valid,
            monthly=table_context(user, PublicationKind.MONTHLY, period) if valid else None,
            yearend=table_context(user, PublicationKind.YEAREND, dt.date(year, 1, 1)) if valid else None,
            rebuild_monthly=rebuild[PublicationKind.MONTHLY],
            rebuild_yearend=rebuild[PublicationKind.YEAREND],
            yearend_form=yearend_form or YearendForm(initial={"year": year}),
            shown_period=f"{period:%Y-%m}",
            shown_year=year,
        )
        return context


class PublicationProgressView(ScopedTemplateView):
    """The polled partial: the table of one kind and period (`?kind=monthly&period=2025-03`,
    `?kind=yearend&period=2025`); it carries hx-get only while a row is pending or building."""

    roles = NATIONAL
    model = Publication
    template_name = "provincial/publications/_period_table.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        kind = request.GET.get("kind", PublicationKind.MONTHLY)
        raw = request.GET.get("period", "").strip()
        if kind == PublicationKind.YEAREND:
            period = dt.date(int(raw), 1, 1) if raw.isdigit() and FIRST_YEAR <= int(raw) <= 9999 else None
            period = period or (dt.date(clock.last_year(), 1, 1) if not raw else None)
        elif kind == PublicationKind.MONTHLY:
            period = clock.parse_month(raw) if raw else clock.previous_month()
        else:
            period = None
        if period is None:
            return HttpResponse(_("期间无效。"), status=400, content_type="text/plain; charset=utf-8")
        return render(request, self.template_name, {"table": table_context(request.user, kind, period)})


class _NationalActionView(NationalPublicationsView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def redirect_to(self, period: str = "", year: int | str | None = None) -> HttpResponse:
        """The national page of `period` (YYYY-MM) and `year` (a number, or the page's query text)."""
        query = {k: v for k, v in (("period", period), ("year", year)) if v}
        url = reverse("national:publications")
        return HttpResponseRedirect(f"{url}?{urlencode(query)}" if query else url)

    def shown(self) -> PeriodForm:
        """The period shown with the form: the one of the page the form was posted from."""
        form = PeriodForm({"period": self.request.GET.get("period", ""), "year": self.request.GET.get("year", "")})
        return form if form.is_valid() else PeriodForm()

    def failed(self, form: forms.Form, exc: Exception | None = None, **forms_: Any) -> HttpResponse:
        """The page again with the posted form, its input and the errors (of the form or of the service)."""
        if isinstance(exc, ValidationError):
            apply_service_errors(form, exc)
        elif exc is not None:
            form.add_error(None, str(exc) or _("没有权限执行该操作。"))
        period_form = self.shown()
        context = self.page_context(period_form, valid=not period_form.is_bound or period_form.is_valid(), **forms_)
        # asked for by another request first (two clicks at once): 409 (issue 17, docs/ONE_TRUTH.md §5)
        return self.render_to_response(context, status=409 if isinstance(exc, Conflict) else 400)


class RebuildView(_NationalActionView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = RebuildForm(request.POST, user=signed_in(request))
        if not form.is_valid():
            return self.failed(form, rebuild_form=form)
        kind, period = form.cleaned_data["kind"], form.cleaned_data["period_date"]
        try:
            rows = services.publication_rebuild_request(
                user=signed_in(request), kind=kind, period=period, **form.target()
            )
        except (ValidationError, PermissionDenied) as exc:
            return self.failed(form, exc, rebuild_form=form)
        messages.success(
            request, _("已安排重新生成 %(n)s 份数据发布，完成后将替换原文件并通知端口联系人。") % {"n": len(rows)}
        )
        if kind == PublicationKind.YEAREND:
            return self.redirect_to(period=request.GET.get("period", ""), year=period.year)
        return self.redirect_to(period=f"{period:%Y-%m}", year=request.GET.get("year", ""))


class YearendView(_NationalActionView):
    def post(self, request: HttpRequest) -> HttpResponse:
        form = YearendForm(request.POST)
        if not form.is_valid():
            return self.failed(form, yearend_form=form)
        year = form.cleaned_data["year"]
        try:
            rows = services.publication_yearend_request(user=signed_in(request), year=year)
        except (ValidationError, PermissionDenied) as exc:
            return self.failed(form, exc, yearend_form=form)
        messages.success(request, _("已开始生成 %(year)s 年度成效评价（%(n)s 份）。") % {"year": year, "n": len(rows)})
        return self.redirect_to(period=request.GET.get("period", ""), year=year)
