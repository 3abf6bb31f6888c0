"""Reference data of the filings app: the first product classes.

The 7 categories of 《知识产权（专利）密集型产业统计分类（2019）》(国家统计局令第25号). The national
office may edit and extend the class list later; loading again never overwrites its edits, and only
fills an English name that is blank. The English names are the platform's translation (the
classification has no official English edition).
"""

from filings.choices import ClassScheme
from filings.models import ProductClass

PATENT_INTENSIVE_2019 = [
    ("01", "信息通信技术制造业", "Information and communication technology manufacturing"),
    ("02", "信息通信技术服务业", "Information and communication technology services"),
    ("03", "新装备制造业", "New equipment manufacturing"),
    ("04", "新材料制造业", "New materials manufacturing"),
    ("05", "医药医疗产业", "Pharmaceutical and medical industry"),
    ("06", "环保产业", "Environmental protection industry"),
    ("07", "研发、设计和技术服务业", "Research and development, design and technical services"),
]


def load_product_classes() -> int:
    created = 0
    for code, name, name_en in PATENT_INTENSIVE_2019:
        obj, was_created = ProductClass.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "scheme": ClassScheme.PATENT_INTENSIVE_2019}
        )
        if not was_created and not obj.name_en and obj.name == name:
            ProductClass.objects.filter(pk=obj.pk).update(name_en=name_en)
        created += int(was_created)
    return created
