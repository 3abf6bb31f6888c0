"""The method versions shipped with the platform: its reading of T/PPAC 402-2022, and a GB/T 46961-2025 skeleton.

The national office may change it; a change makes a new version (old results keep theirs). It is
reference data: created by migration 0002 and, should it be missing (a flushed database), again by
`manage.py load_reference`. The functions take the model classes so that the migrations can pass their
historical models.

The GB/T 46961-2025 skeleton (migration 0004) names the national standard and nothing else: its text is
sold, not published (DOMAIN.md §6), so it has no indicator, no formula, no clause and no pass rule. It
stays an incomplete draft, refused for any round, until the national office enters them from the text.
"""

from typing import Any

CODE = "PPAC402-平台解读-1"
STATEMENT = (
    "本版本是平台对团体标准 T/PPAC 402-2022《企业专利密集型产品评价方法》的解读：按标准所述专利密集型产品的四个特征"
    "——专利保护强度、专利价值贡献、竞争力对专利依赖度、经济效益——设置指标，各指标依据企业备案数据计算，"
    "与同一产品分类、同一数据年度的基准值比较。标准原文的具体指标、公式和基准值推导方法平台未能获得，"
    "以下指标、公式与达标规则不是标准原文，国家知识产权局可随时调整；调整形成新的版本，已完成的评价结果保留其所用版本。"
    "达标规则：四个特征中每个特征至少 1 项指标达到基准值，且达到基准值的指标合计不少于 5 项（共 10 项）。"
    "产业性评价：每个产品由不少于 3 位与企业不同省、不同单位的专家按评分表打分，取算术平均，70 分及以上为通过。"
)

# (code, name, trait, unit, formula)
INDICATORS = [
    ("P1", "有效发明专利数", "protection", "件", "valid_invention_patents"),
    ("P2", "核心专利数", "protection", "件", "core_patents"),
    ("P3", "核心专利平均剩余保护期", "protection", "年", "core_remaining_years"),
    ("V1", "专利贡献度合计", "value", "%", "total_contribution"),
    ("V2", "专利贡献销售额", "value", "万元", "patent_sales"),
    ("D1", "发明专利占比", "dependence", "%", "invention_share"),
    ("D2", "每亿元销售额关联专利数", "dependence", "件/亿元", "patents_per_100m"),
    ("E1", "上年度销售额", "benefit", "万元", "sales"),
    ("E2", "年度出口额", "benefit", "万元", "exports"),
    ("E3", "销售额增长率", "benefit", "%", "growth"),
]
# The platform's English for the indicators above (code: (name_en, unit_en)); a translation, the
# platform's own reading like the indicators themselves. Migration 0008 fills existing rows.
INDICATORS_EN = {
    "P1": ("Valid invention patents", "patents"),
    "P2": ("Core patents", "patents"),
    "P3": ("Average remaining term of core patents", "years"),
    "V1": ("Total patent contribution", "%"),
    "V2": ("Sales attributable to patents", "10,000 yuan"),
    "D1": ("Share of invention patents", "%"),
    "D2": ("Linked patents per 100 million yuan of sales", "patents per 100 million yuan"),
    "E1": ("Sales in the previous year", "10,000 yuan"),
    "E2": ("Annual exports", "10,000 yuan"),
    "E3": ("Sales growth rate", "%"),
}


def create_default_method(method_model: Any, indicator_model: Any) -> bool:
    """Create the default version (active only if no other version is); returns whether it was created."""
    if method_model.objects.filter(code=CODE).exists():
        return False
    method = method_model.objects.create(
        code=CODE,
        name="T/PPAC 402-2022 平台解读（第 1 版）",
        statement=STATEMENT,
        status="draft" if method_model.objects.filter(status="active").exists() else "active",
        min_passed_per_trait=1,
        min_passed_total=5,
        default_percentile=50,
        score_rule="mean",
        expert_pass_score=70,
        **({"standard": "T/PPAC 402-2022", "edition": "2022"} if _has(method_model, "edition") else {}),
    )
    english = _has(indicator_model, "name_en")
    indicator_model.objects.bulk_create(
        indicator_model(
            method=method,
            code=code,
            name=name,
            trait=trait,
            unit=unit,
            formula=formula,
            direction="higher",
            order=i,
            **(dict(zip(("name_en", "unit_en"), INDICATORS_EN[code], strict=True)) if english else {}),
        )
        for i, (code, name, trait, unit, formula) in enumerate(INDICATORS, start=1)
    )
    return True


def fill_english(indicator_model: Any) -> int:
    """Fill the English name and unit of the default version's indicators where they are blank."""
    filled = 0
    for indicator in indicator_model.objects.filter(method__code=CODE, name_en=""):
        if indicator.code in INDICATORS_EN:
            indicator.name_en, indicator.unit_en = INDICATORS_EN[indicator.code]
            indicator.save(update_fields=["name_en", "unit_en"])
            filled += 1
    return filled


def _has(model: Any, field: str) -> bool:
    """Whether the (historical) model has the field: migration 0002 runs before 0004 added the standard."""
    return any(f.name == field for f in model._meta.get_fields())


GBT_CODE = "GB46961-待补全"
GBT_NAME = "GB/T 46961-2025《专利密集型产品评价方法》（框架，待依据标准原文补全）"
GBT_STATEMENT = (
    "本版本是为国家标准 GB/T 46961-2025《专利密集型产品评价方法》预留的方法框架。该标准于 2025-12-31 起实施，"
    "国家知识产权局为主管部门；标准文本为有偿出版，平台没有其原文，因此本版本不含任何指标、计算公式、条款号、阈值或达标规则，"
    "平台也不推测这些内容。须由国家知识产权局依据标准原文逐项录入：每个指标及其所依据的条款、计算公式、"
    "达标规则和产业性评价规则；补全之前本版本不完整，不能启用，也不能用于任何认定批次。"
    "2023—2025 年的认定证书依据团体标准 T/PPAC 402-2022 颁发，其结果保留所用的版本。"
)


def create_gbt_skeleton(method_model: Any) -> bool:
    """The GB/T 46961-2025 skeleton as an incomplete draft; returns whether it was created."""
    if method_model.objects.filter(code=GBT_CODE).exists():
        return False
    method_model.objects.create(
        code=GBT_CODE,
        name=GBT_NAME,
        statement=GBT_STATEMENT,
        status="draft",
        standard="GB/T 46961-2025",
        edition="2025",
        clauses_required=True,
        min_passed_per_trait=None,
        min_passed_total=None,
        score_rule="",
        expert_pass_score=None,
        default_percentile=50,
    )
    return True


def ensure_default_method() -> bool:
    from evaluation.models import Indicator, MethodVersion

    created = create_default_method(MethodVersion, Indicator)
    create_gbt_skeleton(MethodVersion)
    fill_english(Indicator)
    return created
