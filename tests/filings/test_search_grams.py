"""The public search's gram index never loses a match (filings/search.py, migration filings/0014): for any
name and any piece of it as the query, the name's grams contain the query's grams, whatever the script
(Chinese, Latin in either case, digits) and whatever separators (ASCII, CJK and full-width punctuation,
spaces). The substring test that follows on the candidates keeps the answer exact; this property is what
makes the index a safe filter in front of it."""

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from filings.search import SEPARATOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LETTERS = "电池芯片锂能储系统模组智伺服机石墨烯导热膜光" + "abcXYZ" + "0159" + "ＡＢ１"
SEPARATORS = " -_./（）【】《》，。、；：“”！？·—　"
names = st.text(alphabet=LETTERS + SEPARATORS, min_size=1, max_size=24)


def grams_contain(name: str, query: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pp_search_grams(%s) @> pp_search_query_grams(%s)", [name, query])
        return cursor.fetchone()[0]


@given(name=names, data=st.data())
@settings(max_examples=300, deadline=None)
def test_every_piece_of_a_name_is_found_through_its_grams(name: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(name) - 1))
    end = data.draw(st.integers(start + 1, len(name)))
    piece = name[start:end]
    for query in (piece, piece.upper(), piece.lower()):
        assert grams_contain(name, query), (name, query)


WORD = "".join(c for c in LETTERS if c.isalnum())


@given(name=names, query=st.text(alphabet=WORD, min_size=1, max_size=2))
@settings(max_examples=300, deadline=None)
def test_for_one_or_two_characters_of_one_word_the_grams_are_the_substring(name: str, query: str) -> None:
    # filings/search.py leaves out the substring test for such a query: holding its gram must mean holding it
    assert not SEPARATOR.search(query)
    assert grams_contain(name, query) == (query.lower() in name.lower()), (name, query)


def test_a_two_character_chinese_word_uses_the_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM filings_product WHERE pp_search_grams(search_text) @> pp_search_query_grams('电池')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "filings_product_search_grams" in plan
