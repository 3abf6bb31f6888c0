"""The public search's gram index (filings/search.py): two SQL functions that cut a name, and a query, into
character 1- and 2-grams, and a GIN index of the grams of every version's and unit's name. PostgreSQL only;
on SQLite the search tests the substring alone and this migration does nothing."""

from django.db import migrations

# Words are split on white space and punctuation, ASCII and CJK (general punctuation, the ideographic space and
# 、。「」【】《》, full-width forms): the same pattern in both functions.
FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION pp_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}'::text[]) FROM (
    SELECT substr(w, i, n) AS g
    FROM regexp_split_to_table(lower(coalesce(t, '')), '[\s[:punct:]\u2010-\u206f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+') AS w,
         generate_series(1, length(w)) AS i, (VALUES (1), (2)) AS v(n)
    WHERE w <> '' AND i + n - 1 <= length(w)
  ) AS grams
$$;
CREATE OR REPLACE FUNCTION pp_search_query_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}'::text[]) FROM (
    SELECT substr(w, i, least(length(w), 2)) AS g
    FROM regexp_split_to_table(lower(coalesce(t, '')), '[\s[:punct:]\u2010-\u206f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+') AS w,
         generate_series(1, greatest(length(w) - 1, 1)) AS i
    WHERE w <> ''
  ) AS grams
$$;
CREATE INDEX filings_version_name_grams ON filings_productversion USING gin (pp_search_grams(name));
CREATE INDEX filings_unit_name_grams ON filings_filingunit USING gin (pp_search_grams(name));
"""

DROP = """
DROP INDEX IF EXISTS filings_unit_name_grams;
DROP INDEX IF EXISTS filings_version_name_grams;
DROP FUNCTION IF EXISTS pp_search_query_grams(text);
DROP FUNCTION IF EXISTS pp_search_grams(text);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("filings", "0013_english_names")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
