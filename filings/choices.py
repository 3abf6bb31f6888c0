from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.jobs.models import JobStatus


class UnitKind(models.TextChoices):
    COMPANY = "company", _("企业")
    INSTITUTION = "institution", _("事业单位")


class UnitScale(models.TextChoices):
    """Enterprise size as in 《统计上大中小微型企业划分办法（2017）》."""

    LARGE = "large", _("大型")
    MEDIUM = "medium", _("中型")
    SMALL = "small", _("小型")
    MICRO = "micro", _("微型")
    NA = "na", _("不适用（事业单位）")


class ClassScheme(models.TextChoices):
    PATENT_INTENSIVE_2019 = "pi2019", _("知识产权（专利）密集型产业统计分类（2019）")
    PLATFORM = "platform", _("平台产品分类")


class PatentKind(models.TextChoices):
    INVENTION = "invention", _("发明")
    UTILITY_MODEL = "utility_model", _("实用新型")
    DESIGN = "design", _("外观设计")


class LegalStatus(models.TextChoices):
    VALID = "valid", _("有效")
    PENDING = "pending", _("审查中")
    LAPSED = "lapsed", _("失效（未缴年费等）")
    EXPIRED = "expired", _("期限届满")
    INVALIDATED = "invalidated", _("被宣告无效")


class RightKind(models.TextChoices):
    OWNER = "owner", _("专利权人")
    CO_OWNER = "co_owner", _("共有专利权人")
    LICENSEE = "licensee", _("被许可人")
    TRANSFEREE = "transferee", _("受让人")
    CAPITAL = "capital", _("作价入股")


class LicenceKind(models.TextChoices):
    EXCLUSIVE = "exclusive", _("独占许可")
    SOLE = "sole", _("排他许可")
    ORDINARY = "ordinary", _("普通许可")


class FilingStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交待审核")
    RETURNED = "returned", _("已退回修改")
    RESUBMITTED = "resubmitted", _("已重新提交")
    APPROVED = "approved", _("已通过备案")
    WITHDRAWN = "withdrawn", _("已撤回")
    REVOKED = "revoked", _("已撤销")


# States in which the filer may still edit the version.
EDITABLE_STATUSES = frozenset({FilingStatus.DRAFT, FilingStatus.RETURNED})
# States waiting for a reviewer.
PENDING_STATUSES = frozenset({FilingStatus.SUBMITTED, FilingStatus.RESUBMITTED})


class ImportKind(models.TextChoices):
    PATENTS = "patents", _("专利")
    PRODUCTS = "products", _("产品")


# The status of every import job (patent_platform.jobs): one set for the product and the legal-status imports.
ImportStatus = JobStatus


# Legal statuses that end a patent's use in a filing (issue 9: drift flags).
ENDED_STATUSES = frozenset({LegalStatus.LAPSED, LegalStatus.EXPIRED, LegalStatus.INVALIDATED})


class ConflictKind(models.TextChoices):
    MULTIPLE_OWNERS = "multiple_owners", _("同一专利被多个无关单位声明为专利权人")
    LICENCE_WITHOUT_OWNER = "licence_without_owner", _("声明被许可但平台上没有专利权人")


class ConflictStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    RESOLVED = "resolved", _("已处理")
    DISMISSED = "dismissed", _("经核实无冲突")


class CheckRule(models.TextChoices):
    """The plausibility rules run on every submitted version (filings.checks; docs/FLAGS.md)."""

    YOY_SALES = "yoy_sales", _("销售额同比变化异常")
    YOY_EXPORTS = "yoy_exports", _("出口额同比变化异常")
    YOY_OUTPUT = "yoy_output", _("产值同比变化异常")
    PEER_SALES = "peer_sales", _("销售额明显偏离同类产品")
    PEER_EXPORTS = "peer_exports", _("出口额明显偏离同类产品")
    PEER_OUTPUT = "peer_output", _("产值明显偏离同类产品")
    EXPORTS_ABOVE_SALES = "exports_above_sales", _("出口额超过销售额")
    OUTPUT_BELOW_SALES = "output_below_sales", _("产值远低于销售额")
    PATENT_JUMP = "patent_jump", _("关联专利数量突增")


class CreditListKind(models.TextChoices):
    """The two public credit lists the national office imports (filings.credit_lists)."""

    ABNORMAL = "abnormal", _("经营异常名录")
    SERIOUS = "serious", _("严重违法失信名单")


class VerificationMethod(models.TextChoices):
    """How a filing unit's identity was proven (docs/UNITS.md)."""

    REVIEW = "review", _("审核员审核证明材料")
    CLAIM = "claim", _("审核员通过认领申请")
    IDENTITY_PROVIDER = "identity_provider", _("可信身份提供方确认统一社会信用代码")
    PRE_EXISTING = "pre_existing", _("身份核验功能上线前已登记")
    ADMINISTRATOR = "administrator", _("平台管理员确认（演示数据、批量导入）")


class IdentityRequestKind(models.TextChoices):
    VERIFICATION = "verification", _("身份核验")
    CLAIM = "claim", _("认领统一社会信用代码")


class IdentityRequestStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    ACCEPTED = "accepted", _("已通过")
    REJECTED = "rejected", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤销")
