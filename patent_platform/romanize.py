"""English names of GB/T 2260 regions: the specific part in Hanyu Pinyin, the generic part in English.

The convention (docs/I18N.md):
- the specific part in Hanyu Pinyin from the maintained library `pypinyin`, written as one word with a
  capital letter and the apostrophe of GB/T 16159 before a syllable that starts with a, o or e
  (Xi'an, Lu'an); tone marks dropped, ü kept;
- the generic part translated (GB/T 17693.1's "specific part transcribed, generic part translated"):
  县 County, 区 District, 新区 New Area, 旗 Banner, 盟 League, 地区 Prefecture, 自治州 Autonomous
  Prefecture, 自治县 Autonomous County, 自治旗 Autonomous Banner, 林区 Forestry District; 市 and 省 are
  dropped (Shenzhen, Guangdong), as is customary;
- the autonomous areas name their peoples in English (延边朝鲜族自治州 Yanbian Korean Autonomous Prefecture);
- the 31 province-level names are a fixed table of their customary English forms (Inner Mongolia
  Autonomous Region, Xizang Autonomous Region, Shaanxi to tell it from Shanxi);
- place names the library reads wrongly (heteronyms: 六安 Lu'an, 长治 Changzhi, 郫都 Pidu, 单县 Shan
  County …) and a few customary forms of minority-language names (Urumqi, Hohhot, Lhasa) are overridden
  below; tests/platform/test_english_names.py holds the known tricky ones.

`scripts/build_regions.py` writes the result into the CSV's `name_en` column; `load_reference` loads it,
and the national office may correct a row in the admin.
"""

import csv
import re
from functools import cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin

PROVINCES = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia Autonomous Region",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi Zhuang Autonomous Region",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Xizang Autonomous Region",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia Hui Autonomous Region",
    "650000": "Xinjiang Uygur Autonomous Region",
    "710000": "Taiwan",
    "810000": "Hong Kong Special Administrative Region",
    "820000": "Macao Special Administrative Region",
}

# Whole names (without their generic part) the library reads wrongly, or customary forms.
SPECIFIC = {
    "六安": "Lu'an",
    "六合": "Luhe",
    "长子": "Zhangzi",
    "单": "Shan",
    "洪洞": "Hongtong",
    "浚": "Xun",
    "涡阳": "Guoyang",
    "筠连": "Junlian",
    "荥经": "Yingjing",
    "繁峙": "Fanshi",
    "尉犁": "Yuli",
    "莎车": "Shache",
    "内蒙古": "Inner Mongolia",
    "乌鲁木齐": "Urumqi",
    "呼和浩特": "Hohhot",
    "拉萨": "Lhasa",
}

# Characters whose reading in place names differs from the library's everyday reading (长治, 成都,
# 朝阳); 长子县 (Zhangzi) and 浪卡子 keep theirs through SPECIFIC.
PLACE_READINGS = {"长": "chang", "都": "du", "朝": "chao"}

PEOPLES = {
    "朝鲜族": "Korean",
    "土家族": "Tujia",
    "苗族": "Miao",
    "藏族": "Tibetan",
    "羌族": "Qiang",
    "彝族": "Yi",
    "布依族": "Bouyei",
    "侗族": "Dong",
    "哈尼族": "Hani",
    "壮族": "Zhuang",
    "傣族": "Dai",
    "白族": "Bai",
    "景颇族": "Jingpo",
    "傈僳族": "Lisu",
    "回族": "Hui",
    "蒙古族": "Mongol",
    "蒙古": "Mongol",
    "柯尔克孜": "Kirgiz",
    "哈萨克": "Kazak",
    "满族": "Manchu",
    "达斡尔族": "Daur",
    "鄂伦春": "Oroqen",
    "鄂温克族": "Ewenki",
    "畲族": "She",
    "瑶族": "Yao",
    "各族": "Multi-ethnic",
    "仫佬族": "Mulao",
    "毛南族": "Maonan",
    "黎族": "Li",
    "水族": "Shui",
    "仡佬族": "Gelao",
    "纳西族": "Naxi",
    "拉祜族": "Lahu",
    "佤族": "Va",
    "独龙族": "Derung",
    "怒族": "Nu",
    "普米族": "Pumi",
    "布朗族": "Blang",
    "撒拉族": "Salar",
    "土族": "Tu",
    "保安族": "Bonan",
    "东乡族": "Dongxiang",
    "裕固族": "Yugur",
    "锡伯": "Xibe",
    "塔吉克": "Tajik",
    "维吾尔": "Uygur",
    "傣": "Dai",
}

# GB/T 2260's placeholder rows and whole names that are generic words.
WHOLE = {
    "市辖区": "City districts",
    "县": "Counties",
    "省直辖县级行政区划": "County-level divisions under the province",
    "自治区直辖县级行政区划": "County-level divisions under the autonomous region",
    "郊区": "Suburban District",
    "矿区": "Mining District",
    "城区": "Urban District",
    "西沙群岛": "Xisha Islands",
    "南沙群岛": "Nansha Islands",
    "中沙群岛的岛礁及其海域": "Zhongsha Islands and their waters",
}

# Generic parts, longest first; an empty English part drops the generic word.
GENERIC = [
    ("城乡一体化示范区", "Urban-Rural Integration Demonstration Zone"),
    ("高新技术产业开发区", "High-tech Industrial Development Zone"),
    ("高技术产业开发区", "High-tech Industrial Development Zone"),
    ("经济技术开发区", "Economic and Technological Development Zone"),
    ("高新技术产业园区", "High-tech Industrial Park"),
    ("高新技术开发区", "High-tech Development Zone"),
    ("经济综合实验区", "Comprehensive Economic Experimental Zone"),
    ("综合改革示范区", "Comprehensive Reform Demonstration Zone"),
    ("经济开发区", "Economic Development Zone"),
    ("现代产业园区", "Modern Industrial Park"),
    ("创意园区", "Creative Park"),
    ("工业园区", "Industrial Park"),
    ("化工园区", "Chemical Industry Park"),
    ("园区", "Park"),
    ("开发区", "Development Zone"),
    ("示范区", "Demonstration Zone"),
    ("管理区", "Administrative Zone"),
    ("联合旗", "United Banner"),
    ("左旗", "Left Banner"),
    ("右旗", "Right Banner"),
    ("前旗", "Front Banner"),
    ("中旗", "Middle Banner"),
    ("后旗", "Rear Banner"),
    ("自治州", "Autonomous Prefecture"),
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("管理区管委会", "Administrative Zone"),
    ("行政委员会", "Administrative Committee"),
    ("林区", "Forestry District"),
    ("特区", "Special District"),
    ("新区", "New Area"),
    ("新城", "New Town"),
    ("地区", "Prefecture"),
    ("县", "County"),
    ("区", "District"),
    ("旗", "Banner"),
    ("盟", "League"),
    ("市", ""),
    ("省", ""),
]


DATA = Path(__file__).resolve().parent / "data" / "gbt2260.csv"


@cache
def _stems() -> tuple[str, ...]:
    """Province and city names without their generic part, longest first: the words a zone's name starts with."""
    stems = set()
    with DATA.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["level"] in ("province", "city"):
                stems.add(re.sub(r"(维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$", "", row["name"]))
    return tuple(sorted((s for s in stems if len(s) >= 2), key=len, reverse=True))


def _word(text: str) -> str:
    if text in SPECIFIC:
        return SPECIFIC[text]
    syllables = lazy_pinyin(text, style=Style.NORMAL, v_to_u=True)
    if len(syllables) == len(text):
        syllables = [PLACE_READINGS.get(char, syllable) for char, syllable in zip(text, syllables, strict=True)]
    word = ""
    for i, syllable in enumerate(syllables):
        if i and syllable[:1] in ("a", "o", "e"):
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]


def pinyin(specific: str) -> str:
    """Hanyu Pinyin of a specific name (Xi'an), from the overrides or the library; a name that starts with
    province or city names (河北唐山芦台) gives one word each (Hebei Tangshan Lutai)."""
    words = []
    rest = specific
    while rest and rest not in SPECIFIC:
        stem = next((s for s in _stems() if rest.startswith(s) and len(rest) > len(s)), None)
        if stem is None:
            break
        words.append(_word(stem))
        rest = rest[len(stem) :]
        if rest.startswith("市"):
            rest = rest[1:]
    if rest:
        words.append(_word(rest))
    return " ".join(words)


def _peoples(text: str) -> tuple[str, list[str]]:
    """Split the trailing peoples off a specific name: 延边朝鲜族 → (延边, [Korean])."""
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for chinese, english in sorted(PEOPLES.items(), key=lambda item: -len(item[0])):
            if text.endswith(chinese) and len(text) > len(chinese):
                text = text[: -len(chinese)]
                found.insert(0, english)
                changed = True
                break
    return text, found


def region_name_en(code: str, name: str) -> str:
    """The English name of a GB/T 2260 region."""
    if code in PROVINCES:
        return PROVINCES[code]
    if name in WHOLE:
        return WHOLE[name]
    for chinese, english in GENERIC:
        if name.endswith(chinese) and len(name) > len(chinese):
            specific = name[: -len(chinese)]
            peoples: list[str] = []
            if chinese.startswith("自治"):
                specific, peoples = _peoples(specific)
            return " ".join(part for part in [pinyin(specific), *peoples, english] if part)
    return pinyin(name)
