"""The Excel bulk filing's file format: the columns of the two templates (patents, products) and the template
workbook a user downloads (`build_template`). The import job that reads a filled-in template is
`filings.imports`.

The column headers are the file format and stay in Chinese whatever the user's language; the notes and the
instruction sheet are translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.choices import ImportKind, LegalStatus, LicenceKind, RightKind
from filings.models import (
    ProductClass,
)
from filings.rules import default_data_year
from patent_platform import tabular

TEMPLATE_ROWS = tabular.OPTION_ROWS  # rows of the template that carry the drop-downs and text formats
SOURCE_LANGUAGE = tabular.SOURCE_LANGUAGE  # the file format (headers, drop-down values) is in Chinese
YES, NO = tabular.YES, tabular.NO
DATA_SHEETS: dict[str, str] = {ImportKind.PATENTS: "专利", ImportKind.PRODUCTS: "产品"}
INSTRUCTION_SHEET = "说明"
LIST_SHEET = "选项"
TEXT_KINDS = ("text", "patent", "class")  # columns formatted as text in the template


@dataclass(frozen=True)
class Column(tabular.Column):
    kind: str = "text"  # text, int, decimal, date, bool, patent, class, or choice (with `choices`)
    max_length: int | None = None
    choices: Any = None  # a TextChoices class
    product_level: bool = False  # products: the same for every row of one product


PATENT_COLUMNS = (
    Column(
        "number",
        "申请号",
        kind="patent",
        required=True,
        note=gettext_lazy(
            "12 位数字加校验位，如 201710601862.3；2003 年以前为 8 位加校验位，如 95115608.X。可带 CN 或 ZL 前缀。"
        ),
    ),
    Column(
        "title",
        "专利名称",
        kind="text",
        max_length=300,
        note=gettext_lazy("平台尚无该专利记录时必填；平台已有的专利以平台记录为准。"),
    ),
    Column("application_date", "申请日", kind="date", note=gettext_lazy("日期，如 2020-05-18。")),
    Column("grant_date", "授权公告日", kind="date", note=gettext_lazy("日期，如 2021-03-02；尚未授权的留空。")),
    Column(
        "legal_status",
        "法律状态",
        kind="choice",
        choices=LegalStatus,
        note=gettext_lazy("从下拉列表选择；留空为“有效”。"),
    ),
    Column(
        "kind", "权利类型", kind="choice", choices=RightKind, note=gettext_lazy("从下拉列表选择；留空为“专利权人”。")
    ),
    Column(
        "licence_kind",
        "许可类型",
        kind="choice",
        choices=LicenceKind,
        note=gettext_lazy("权利类型为“被许可人”时必填，其他情况留空。"),
    ),
    Column(
        "recordal_number",
        "许可备案号",
        kind="text",
        max_length=50,
        note=gettext_lazy("被许可人填写许可合同备案号（平台要求许可须经备案时必填）；其他情况留空。"),
    ),
    Column(
        "valid_until", "权利期限至", kind="date", note=gettext_lazy("许可或权利的截止日期，如 2030-12-31；可留空。")
    ),
)

PRODUCT_COLUMNS = (
    Column(
        "seq",
        "产品序号",
        kind="int",
        required=True,
        note=gettext_lazy("本文件内的产品编号（1、2、3…）；序号相同的各行属于同一产品，每行填写一项关联专利。"),
    ),
    Column("name", "产品名称", kind="text", required=True, max_length=200, product_level=True),
    Column("model", "型号规格", kind="text", max_length=200, product_level=True),
    Column(
        "product_class",
        "产品分类代码",
        kind="class",
        required=True,
        product_level=True,
        note=gettext_lazy("从下拉列表选择，或只填代码，如 03。"),
    ),
    Column("description", "产品简介", kind="text", max_length=4000, product_level=True),
    Column(
        "first_sale_date", "首次销售日期", kind="date", product_level=True, note=gettext_lazy("日期，如 2019-06-01。")
    ),
    Column(
        "data_year",
        "数据年度",
        kind="int",
        product_level=True,
        note=gettext_lazy("销售额等数据所属年度，如 2024；留空为上一年度。"),
    ),
    Column(
        "sales",
        "上年度销售额（万元）",
        kind="decimal",
        required=True,
        product_level=True,
        note=gettext_lazy("单位万元，不小于 0，最多两位小数。"),
    ),
    Column(
        "exports",
        "年度出口额（万元）",
        kind="decimal",
        product_level=True,
        note=gettext_lazy("单位万元，不小于 0，不能大于上年度销售额；留空为 0。"),
    ),
    Column(
        "output_value",
        "产值（万元）",
        kind="decimal",
        required=True,
        product_level=True,
        note=gettext_lazy("单位万元，不小于 0，最多两位小数。"),
    ),
    Column(
        "certification_opt_in",
        "参与认定（是/否）",
        kind="bool",
        product_level=True,
        aliases=("参与认定",),
        note=gettext_lazy("是否参与专利密集型产品认定：是 或 否；留空为否。"),
    ),
    Column(
        "patent",
        "专利申请号",
        kind="patent",
        required=True,
        note=gettext_lazy("该专利须已登记到本单位（在“专利管理”中登记，或先用专利模板导入）。"),
    ),
    Column(
        "is_core",
        "核心专利（是/否）",
        kind="bool",
        aliases=("核心专利",),
        note=gettext_lazy("是 或 否；提交审核前每个产品须至少一项核心专利。"),
    ),
    Column(
        "contribution",
        "贡献度（%）",
        kind="decimal",
        required=True,
        note=gettext_lazy("该专利对产品的贡献，0–100；同一产品各专利之和不超过 100。"),
    ),
    Column(
        "embodiment",
        "专利体现方式",
        kind="text",
        max_length=500,
        note=gettext_lazy("专利在产品中的体现，如“主体结构”。"),
    ),
)

COLUMNS: dict[str, tuple[Column, ...]] = {ImportKind.PATENTS: PATENT_COLUMNS, ImportKind.PRODUCTS: PRODUCT_COLUMNS}
PRODUCT_FIELDS = tuple(c for c in PRODUCT_COLUMNS if c.product_level)


# ---------------------------------------------------------------------------------------------
# Templates


def _class_options() -> list[str]:
    return [f"{c.code} {c.name}" for c in ProductClass.objects.filter(is_active=True).order_by("code")]


def _options(column: Column) -> list[str] | None:
    if column.choices is not None:
        return tabular.choice_labels(column.choices)
    if column.kind == "bool":
        return [YES, NO]
    if column.kind == "class":
        return _class_options()
    return None


def build_template(kind: str) -> bytes:
    """The Excel template for `kind`: the data sheet, the instruction sheet (说明), hidden option lists."""
    columns = COLUMNS[kind]
    template = tabular.TemplateBook(DATA_SHEETS[kind], lists_title=LIST_SHEET)
    title = _("专利批量导入说明") if kind == ImportKind.PATENTS else _("产品批量导入说明")
    guide = template.sheet(INSTRUCTION_SHEET, widths={"A": 22, "B": 10, "C": 70, "D": 50}, heading=title)
    template.header(columns, comments=True)
    for i, column in enumerate(columns, start=1):
        number_format = (
            tabular.TEXT_FORMAT if column.kind in TEXT_KINDS else tabular.DATE_FORMAT if column.kind == "date" else None
        )
        template.column(i, width=max(12, min(40, 2 * len(column.header) + 4)), number_format=number_format)
        if options := _options(column):
            template.options(i, column.header, options, rows=TEMPLATE_ROWS)
    template.data.freeze_panes = "A2"

    for line in _general_rules(kind):
        guide.append([str(line)])
    guide.append([])
    guide.append([_("列名"), _("是否必填"), _("格式与说明"), _("可选值")])
    template.style_last_row(guide, emphasised=True)
    for column in columns:
        options = _options(column) or []
        required = _("必填") if column.required else _("选填")
        if column.product_level:
            required = f"{required}（{_('产品信息')}）"
        guide.append([column.header, required, str(column.note) or _("文字。"), "、".join(options)])
        template.style_last_row(guide, wrapped=True)
    return template.to_bytes()


def _general_rules(kind: str) -> list[Any]:
    rules = [
        _("1. 在“%(sheet)s”工作表第 2 行起逐行填写，不要修改或删除第 1 行表头，也不要增删列。")
        % {"sheet": DATA_SHEETS[kind]},
        _("2. 红色表头为必填列。日期写成 2024-05-18 或设为日期格式；金额单位为万元，最多两位小数。"),
        _(
            "3. 上传后平台逐行逐格校验：只要有一处错误，整个文件都不会导入，"
            "并列出每处错误的行号、列名和原因，修改后重新上传即可。"
        ),
        _("4. 导入的数据保存为草稿，核对无误后再在平台上提交审核。"),
    ]
    if kind == ImportKind.PATENTS:
        rules.append(_("5. 一行登记一项专利；本单位已登记的专利、同一文件中重复的申请号都会报错。"))
    else:
        rules += [
            _("5. 一行是一个产品与一项专利的关联：同一产品有几项专利就填几行，这些行的“产品序号”相同。"),
            _(
                "6. 产品名称、型号规格、分类、简介、日期、数据年度、金额和“参与认定”是产品信息："
                "同一产品的各行须完全一致，第 2 行起也可以留空。"
            ),
            _(
                "7. 关联的专利必须已登记到本单位：请先在“专利管理”中登记，或先用专利模板导入专利，"
                "再导入产品。每个产品至少一项核心专利，各专利贡献度之和不超过 100。"
            ),
            _("8. 数据年度不能晚于上一年度（%(year)s 年）；留空即为 %(year)s 年。") % {"year": default_data_year()},
        ]
    return rules
