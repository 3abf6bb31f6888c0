"""Reference data of the filings app: the first product classes.

The 7 categories of 《知识产权（专利）密集型产业统计分类（2019）》(国家统计局令第25号). The national
office may edit and extend the class list later; loading again never overwrites its edits.
"""

from filings.choices import ClassScheme
from filings.models import ProductClass

PATENT_INTENSIVE_2019 = [
    ("01", "信息通信技术制造业"),
    ("02", "信息通信技术服务业"),
    ("03", "新装备制造业"),
    ("04", "新材料制造业"),
    ("05", "医药医疗产业"),
    ("06", "环保产业"),
    ("07", "研发、设计和技术服务业"),
]


def load_product_classes() -> int:
    created = 0
    for code, name in PATENT_INTENSIVE_2019:
        _obj, was_created = ProductClass.objects.get_or_create(
            code=code, defaults={"name": name, "scheme": ClassScheme.PATENT_INTENSIVE_2019}
        )
        created += int(was_created)
    return created
