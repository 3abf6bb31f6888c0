"""Shapes of the verification API's answers, for the OpenAPI schema (the views answer plain dicts built by
verification/verify.py, which these describe field by field)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class AsOfQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        help_text=_("核验日期（YYYY-MM-DD，北京时间），默认今天：答复该日结束时的状态；不能晚于今天，不早于 2000 年"),
    )


class UnitSerializer(serializers.Serializer):
    name = serializers.CharField()
    uscc = serializers.CharField(help_text=_("统一社会信用代码"))
    region_code = serializers.CharField(help_text=_("所在地区的行政区划代码"))
    region = serializers.CharField()


class PatentSerializer(serializers.Serializer):
    number = serializers.CharField(help_text=_("申请号"))
    patent_number = serializers.CharField(help_text=_("专利号（ZL + 申请号）"))
    kind = serializers.CharField()
    title = serializers.CharField()
    legal_status = serializers.CharField(
        help_text=_("今天的法律状态：valid 有效、pending 审查中、lapsed 失效、expired 期限届满、invalidated 被宣告无效")
    )
    legal_status_label = serializers.CharField()
    is_core = serializers.BooleanField()


class FlagSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text=_(
            "提示的类别：patent_status（关联专利失效等）、patent_conflict（权属冲突）、plausibility（填报数据异常）、"
            "credit_list（单位列入信用名单）等"
        )
    )
    code = serializers.CharField(help_text=_("该类别中的具体情形，如 lapsed、multiple_owners"))
    message = serializers.CharField()
    patent = serializers.CharField(required=False, help_text=_("相关专利的申请号"))
    since = serializers.DateField(allow_null=True)
    data_year = serializers.IntegerField(required=False)
    detail = serializers.CharField(required=False, help_text=_("数据异常提示的说明"))
    figure = serializers.DecimalField(
        max_digits=20, decimal_places=4, required=False, allow_null=True, coerce_to_string=True
    )
    comparison = serializers.DecimalField(
        max_digits=20, decimal_places=4, required=False, allow_null=True, coerce_to_string=True
    )
    threshold = serializers.DecimalField(
        max_digits=20, decimal_places=4, required=False, allow_null=True, coerce_to_string=True
    )


class ProductBriefSerializer(serializers.Serializer):
    name = serializers.CharField()
    model = serializers.CharField()
    product_class = serializers.CharField()
    data_year = serializers.IntegerField()
    approved_on = serializers.DateField(allow_null=True)
    status = serializers.CharField(allow_null=True, help_text=_("今天的备案状态（仅核验日期为今天时）"))


class YearSerializer(serializers.Serializer):
    data_year = serializers.IntegerField()
    valid = serializers.BooleanField()
    approved_on = serializers.DateField(allow_null=True)
    status = serializers.CharField(allow_null=True)


class FilingAnswerSerializer(serializers.Serializer):
    filing_number = serializers.CharField()
    as_of = serializers.DateField()
    valid = serializers.BooleanField(help_text=_("该日有通过备案（未撤销、未撤回）的年度版本"))
    unit = UnitSerializer()
    product = ProductBriefSerializer(allow_null=True)
    years = YearSerializer(many=True)
    patents = PatentSerializer(many=True)
    open_flags = FlagSerializer(many=True)


class CertificateBriefSerializer(serializers.Serializer):
    certificate_number = serializers.CharField()
    valid = serializers.BooleanField(help_text=_("该日已颁发且对应备案仍有效"))
    issued = serializers.BooleanField()
    filing_in_force = serializers.BooleanField()
    certified_on = serializers.DateField(allow_null=True)
    round = serializers.CharField()
    data_year = serializers.IntegerField()
    filing_number = serializers.CharField()
    product = serializers.DictField(child=serializers.CharField())
    product_class = serializers.CharField()


class CertificateAnswerSerializer(CertificateBriefSerializer):
    as_of = serializers.DateField()
    unit = UnitSerializer()
    patents = PatentSerializer(many=True)
    open_flags = FlagSerializer(many=True)


class StatementAnswerSerializer(serializers.Serializer):
    statement_number = serializers.CharField()
    as_of = serializers.DateField()
    valid = serializers.BooleanField(help_text=_("该日已出具且内容未被改动"))
    issued = serializers.BooleanField()
    intact = serializers.BooleanField(help_text=_("存档内容与出具时的 SHA-256 一致"))
    issued_on = serializers.DateField()
    data_as_of = serializers.DateTimeField()
    unit = UnitSerializer()
    totals = serializers.DictField(child=serializers.IntegerField())
    changed_since_issued = serializers.BooleanField(allow_null=True, help_text=_("出具后备案情况是否有变化（仅今天）"))
    changes = serializers.DictField(child=serializers.IntegerField(), allow_null=True)


class UnitProductSerializer(serializers.Serializer):
    filing_number = serializers.CharField()
    name = serializers.CharField()
    model = serializers.CharField()
    product_class = serializers.CharField()
    data_years = serializers.ListField(child=serializers.IntegerField())
    approved_on = serializers.DateField(allow_null=True)
    patents = PatentSerializer(many=True)
    open_flags = FlagSerializer(many=True)
    certificates = CertificateBriefSerializer(
        many=True, allow_null=True, help_text=_("认定证书；客户端没有 verify:certificates 权限时为 null")
    )


class UnitAnswerSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    unit = UnitSerializer()
    filed_products = serializers.IntegerField()
    certified_products = serializers.IntegerField()
    products = UnitProductSerializer(many=True)


class TokenAnswerSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    scope = serializers.CharField()
