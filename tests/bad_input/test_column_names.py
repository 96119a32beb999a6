"""The bad-input catalogue, real column names and YAML-typed settings: what an R or
spreadsheet export really looks like (a quoted header, an empty row-names header, dotted,
spaced and digit-first names, NA, yes/no categories, whole numbers written as 3.0) and
what YAML does to unquoted values (yes/no become booleans, 1.0 a number, null nothing).

Rule under test: declared column names are plain (a letter, then letters, digits, _);
a source column of any other name is mapped to a plain one under rename:, and a name
that is neither plain nor renamed is refused in one line that gives the rename to write.
Each case declares its dataset in an overlay profile under tmp_path, as a user would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crosslake import lake
from crosslake.config import conf_dir, load_config
from crosslake.errors import ConfigError
from jobs import clean, features, ingest
from transforms.tabular import header_problems
from tests.helpers import error_line, write_files

# An R data.frame written by write.csv(): row names under an empty header, names from
# make.names() (dots), NA for missing values, logicals as TRUE/FALSE; plus names a
# spreadsheet gives (a space, a leading digit, a dash, a non-ASCII letter).
R_HEADER = '"","id","sample.yr","n visits","1st.dose","blood-type","größe","smoker","outcome"\n'
R_ROWS = [
    '"1",1,2001,3,"2021-01-04","A",1.72,"yes",TRUE\n',
    '"2",2,2002,3.0,"2021-02-01","B",NA,"no",FALSE\n',     # 3.0: a whole number, as pandas writes it
    '"3",3,NA,0,NA,"O",1.80,"no",TRUE\n',
    '"4",4,2003,2.5,"2021-03-09","A",1.65,"yes",FALSE\n',  # 2.5 visits: not an integer, quarantined
    '"5",5,2004,1,"2021-04-12","AB",1.90,"maybe",TRUE\n',  # not a known smoker value, quarantined
    '"6",6,2005,4,"2021-05-03","B",1.77,"no",FALSE\n',
    '"6",6,2005,4,"2021-05-03","B",1.77,"no",FALSE\n',     # an exact repeat: dropped and counted
]
R_DECLARED = """
    columns:
      row_name: int
      id: bigint
      sample_yr: int
      n_visits: int
      first_dose: date
      blood_type: string
      größe: double
      smoker: string
      outcome: boolean
    rename: {"": row_name, "sample.yr": sample_yr, "n visits": n_visits, "1st.dose": first_dose,
             "blood-type": blood_type}
"""


def overlay(tmp_path: Path, monkeypatch, body: str, *, name: str = "rdata") -> str:
    """A conf folder (the project's, plus `name`.yaml declaring the dataset) made current
    through CROSSLAKE_CONF_DIR; returns the profile to load."""
    conf = tmp_path / "conf"
    if not conf.exists():
        shutil.copytree(conf_dir(), conf)
    (conf / f"{name}.yaml").write_text(f"""
datasets:
  {name}:
    source: {{format: csv, path: {tmp_path / 'drop'}}}
    keys: [id]
    label: outcome
    clean: {{max_quarantine_fraction: 0.5}}
{"" if "expectations:" in body else "    expectations: {}"}
{body}""")
    monkeypatch.setenv("CROSSLAKE_CONF_DIR", str(conf))
    return f"test,{name}"


R_SUITE = """
    expectations:
      row:
        smoker_known: {expect: in_set, column: smoker, values: ["yes", "no"]}   # quoted: text
        outcome_known: {expect: in_set, column: outcome, values: [yes, no]}     # unquoted: booleans, as meant
      output:
        enough_rows: {expect: row_count_between, min: 1}
    features:
      numeric: [sample_yr, n_visits, größe]
      categorical: [smoker, blood_type]
    split: {validation_fraction: 0.0, test_fraction: 0.0}   # four rows: all of them train the encoding
"""


def write_drop(tmp_path: Path, files: dict[str, str]) -> None:
    write_files(tmp_path / "drop", files)


def cfg_for(tmp_path: Path, monkeypatch, body: str, lake_dir: str = "lake"):
    return load_config(overlay(tmp_path, monkeypatch, body), lake_root=str(tmp_path / lake_dir))


def one_error_line(text: str) -> str:
    """The single `error:` line a job printed: no trace, no query plan."""
    assert "Plan" not in text, text
    return error_line(text)


def test_r_export_with_renamed_names_runs_end_to_end_with_its_values(tmp_path, monkeypatch, spark):
    write_drop(tmp_path, {"patients.csv": R_HEADER + "".join(R_ROWS)})
    cfg = cfg_for(tmp_path, monkeypatch, R_DECLARED + R_SUITE)
    ingested = ingest.run(spark, cfg, dataset="rdata")
    cleaned = clean.run(spark, cfg, dataset="rdata")
    assert ingested.records == len(R_ROWS) == 7
    # rows in = published + quarantined + repeats
    assert (cleaned.rows_in, cleaned.published, cleaned.quarantined, cleaned.duplicates) == (7, 4, 2, 1)
    silver = {r.id: r.asDict() for r in lake.read_table(spark, cfg, "rdata_silver").collect()}
    assert set(silver) == {1, 2, 3, 6}
    expected = {"row_name": 1, "sample_yr": 2001, "n_visits": 3, "blood_type": "A", "größe": 1.72, "smoker": "yes",
                "outcome": True}
    assert {k: silver[1][k] for k in expected} == expected
    assert str(silver[1]["first_dose"]) == "2021-01-04"
    assert silver[2]["n_visits"] == 3 and silver[2]["größe"] is None and silver[2]["outcome"] is False
    assert silver[3]["sample_yr"] is None and silver[3]["first_dose"] is None  # NA is null, not a parse failure
    quarantined = {r._source_row: sorted(r.failed_checks)
                   for r in lake.read_table(spark, cfg, "rdata_quarantine").collect()}
    assert quarantined == {"5": ["unparseable:n_visits"], "6": ["smoker_known"]}
    featured = features.run(spark, cfg, dataset="rdata")
    gold = lake.read_table(spark, cfg, "rdata_gold")
    # 3 numeric, 2 of them (sample_yr, größe) missing somewhere in train: an indicator each;
    # smoker yes/no/other; 3 blood types + other
    assert gold.count() == 4 and featured.width == 3 + 2 + 3 + 4
    by_id = {r.id: r for r in gold.collect()}
    assert by_id[1].label == 1 and by_id[2].label == 0 and len(by_id[6].features) == featured.width
    encoded = {(r.feature, r.category) for r in lake.read_table(spark, cfg, "rdata_encoding").collect()}
    assert {("größe", None), ("größe", "__missing__"), ("n_visits", None), ("smoker", "yes"),
            ("blood_type", "A")} <= encoded and ("n_visits", "__missing__") not in encoded


BAD_DECLARED_NAMES = {  # declared name -> the rename the message gives
    "dotted": ("sample.yr", 'rename: {"sample.yr": sample_yr}'),
    "space": ("n visits", 'rename: {"n visits": n_visits}'),
    "leading_digit": ("1st_dose", 'rename: {"1st_dose": col_1st_dose}'),
    "dash": ("blood-type", 'rename: {"blood-type": blood_type}'),
}


@pytest.mark.parametrize("case", BAD_DECLARED_NAMES)
def test_a_declared_name_that_is_not_plain_is_refused_before_spark_with_the_rename(case, tmp_path, monkeypatch,
                                                                                   capsys):
    bad, fix = BAD_DECLARED_NAMES[case]
    profile = overlay(tmp_path, monkeypatch, f"""
    columns: {{id: bigint, "{bad}": int, outcome: boolean}}
    features: {{numeric: ["{bad}"]}}
""")
    rc = ingest.main(["--dataset", "rdata", "--profile", profile, "--lake-root", str(tmp_path / "lake")])
    line = one_error_line(capsys.readouterr().err)
    assert rc == 2
    assert line == (f'error: datasets.rdata.columns: "{bad}" is not a plain name (letters, digits and _, starting '
                    f'with a letter): declare it as {fix.split(": ")[-1].rstrip("}")} and map the source column to '
                    f'it: {fix}')
    assert not (tmp_path / "lake").exists()  # refused before any job ran


def test_a_source_name_that_is_not_plain_and_not_renamed_is_one_line_naming_the_rename(tmp_path, monkeypatch,
                                                                                       capsys, spark):
    write_drop(tmp_path, {"a.csv": 'id,sample.yr,outcome\n1,2001,TRUE\n'})
    profile = overlay(tmp_path, monkeypatch, """
    columns: {id: bigint, outcome: boolean}
    features: {numeric: [id]}
""")
    args = ["--dataset", "rdata", "--profile", profile, "--lake-root", str(tmp_path / "lake")]
    assert ingest.main(args) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("error: dataset 'rdata': ") and line.endswith(
        'drop/a.csv has undeclared column(s) "sample.yr" whose names are not plain: declare them under '
        'datasets.<name>.columns as sample_yr and map them with rename: {"sample.yr": sample_yr}, or set '
        'extra_columns: ignore. Nothing was ingested.')
    cfg = load_config(profile, lake_root=str(tmp_path / "lake"))
    assert not lake.exists(spark, cfg.table_path("rdata_bronze"))


def test_a_plain_declaration_with_the_rename_forgotten_gets_the_rename(tmp_path, monkeypatch):
    cfg = cfg_for(tmp_path, monkeypatch, """
    columns: {id: bigint, sample_yr: int, n_visits: int, outcome: boolean}
    features: {numeric: [id]}
""")
    problems = header_problems("a.csv", ["id", "sample.yr", "N Visits", "outcome"], cfg.dataset("rdata"))
    assert problems == ['a.csv lacks declared column(s) sample_yr, n_visits; the source has "sample.yr", '
                        '"N Visits": map them with rename: {"sample.yr": sample_yr, "N Visits": n_visits}']


def test_an_empty_first_header_is_named(tmp_path, monkeypatch):
    cfg = cfg_for(tmp_path, monkeypatch, """
    columns: {id: bigint, outcome: boolean}
    features: {numeric: [id]}
""")
    ds = cfg.dataset("rdata")
    assert header_problems("r.csv", ["", "id", "outcome"], ds) == [
        "r.csv: the first column has an empty header (R's row names?): map it to a name with "
        'rename: {"": row_name} and declare row_name under columns:, or set extra_columns: ignore to leave it out']
    assert header_problems("s.csv", ["id", "outcome", "", ""], ds) == [
        "s.csv: column(s) 3, 4 have an empty header: set extra_columns: ignore to leave them out, or name them in "
        "the source"]


def test_ignored_empty_headers_row_names_and_blank_spreadsheet_columns_publish_the_rest(tmp_path, monkeypatch,
                                                                                         spark):
    write_drop(tmp_path, {"r.csv": '"","id","outcome"\n"1",10,TRUE\n"2",20,FALSE\n',
                          "sheet.csv": "id,outcome,,\n30,TRUE,,\n40,FALSE,,\n"})
    cfg = cfg_for(tmp_path, monkeypatch, """
    columns: {id: bigint, outcome: boolean}
    features: {numeric: [id]}
    extra_columns: ignore
""")
    assert ingest.run(spark, cfg, dataset="rdata").records == 4
    result = clean.run(spark, cfg, dataset="rdata")
    assert (result.rows_in, result.published, result.quarantined, result.duplicates) == (4, 4, 0, 0)
    silver = lake.read_table(spark, cfg, "rdata_silver")
    assert {r.id: r.outcome for r in silver.collect()} == {10: True, 20: False, 30: True, 40: False}
    assert sorted(silver.columns) == sorted(["id", "outcome", "_source", "_source_row", "split"])


YAML_TYPED = {  # what the overlay says -> the one line
    "yes_no_in_values": (
        'smoker_known: {expect: in_set, column: smoker, values: [yes, no]}',
        'error: datasets.rdata.expectations.row.smoker_known.values: yes, no were read by YAML as booleans true, '
        'false (column smoker is declared string); quote them: values: ["yes", "no"]'),
    "on_off_in_values": (
        'smoker_known: {expect: in_set, column: smoker, values: [on, off, unknown]}',
        'error: datasets.rdata.expectations.row.smoker_known.values: on, off were read by YAML as booleans true, '
        'false (column smoker is declared string); quote them: values: ["on", "off", "unknown"]'),
    "numbers_for_a_string_column": (
        'smoker_known: {expect: in_set, column: smoker, values: [1.0, 01, "2"]}',
        'error: datasets.rdata.expectations.row.smoker_known.values: 1.0, 01 were read by YAML as numbers 1.0, 1 '
        '(column smoker is declared string); quote them: values: ["1.0", "01", "2"]'),
}
YAML_TYPED_SETTINGS = {
    "null_markers": (
        "clean: {null_values: [NA, null, NULL, '']}",
        'error: datasets.rdata.clean.null_values: null, NULL were read by YAML as null (no value); quote them: '
        'null_values: ["NA", "null", "NULL", ""]'),
    "label_yes": (
        "label: yes",
        'error: datasets.rdata.label: yes was read by YAML as the boolean true; quote it: label: "yes"'),
}


@pytest.mark.parametrize("case", [*YAML_TYPED, *YAML_TYPED_SETTINGS])
def test_text_settings_yaml_typed_otherwise_are_refused_with_the_quoting(case, tmp_path, monkeypatch, capsys):
    body = """
    columns: {id: bigint, smoker: string, outcome: boolean}
    features: {categorical: [smoker]}
"""
    if case in YAML_TYPED:
        written, expected = YAML_TYPED[case]
        body += f"    expectations: {{row: {{{written}}}}}\n"
    else:
        written, expected = YAML_TYPED_SETTINGS[case]
        body += f"    {written}\n"
    profile = overlay(tmp_path, monkeypatch, body)
    rc = clean.main(["--dataset", "rdata", "--profile", profile, "--lake-root", str(tmp_path / "lake")])
    assert (rc, one_error_line(capsys.readouterr().err)) == (2, expected)
    assert not (tmp_path / "lake").exists()


NAME_CLASHES = {
    "split_column": ("columns: {id: bigint, split: string, outcome: boolean}",
                     'datasets.rdata.columns.split: the name is taken by the split column the jobs add; declare it '
                     'as source_split and map it: rename: {"split": source_split}'),
    "names_differing_in_case": ("columns: {id: bigint, Age: int, age: int, outcome: boolean}",
                                "datasets.rdata.columns: Age and age differ only in case, which Spark does not tell "
                                "apart: declare one under another name and map it under rename:"),
    "check_on_an_undeclared_column": (
        "columns: {id: bigint, smoker: string, outcome: boolean}\n"
        "    expectations: {row: {smoker_known: {expect: in_set, column: Smoker, values: [\"no\"]}}}",
        "datasets.rdata.expectations.row.smoker_known: column Smoker is not declared under columns:"),
    "yes_no_label_declared_string": (
        "columns: {id: bigint, outcome: string}",
        "datasets.rdata.label: column outcome is declared string, but the model learns a two-class outcome: declare "
        "it boolean (true/false, yes/no, y/n, t/f and 1/0 all read as booleans) or int (0/1)"),
    "number_as_a_name": ("columns: {id: bigint, 2020: int, outcome: boolean}",
                         'datasets.rdata.columns (a name): 2020 was read by YAML as the number 2020; quote it: '
                         'columns: {"2020": int}'),
}


@pytest.mark.parametrize("case", NAME_CLASHES)
def test_names_the_jobs_or_spark_would_confuse_are_refused(case, tmp_path, monkeypatch):
    columns, message = NAME_CLASHES[case]
    profile = overlay(tmp_path, monkeypatch, f"    {columns}\n    features: {{numeric: [id]}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(profile)
    assert str(err.value) == message


def test_a_database_column_that_is_not_plain_is_refused_before_the_rows_are_read(tmp_path, monkeypatch, spark,
                                                                                 postgres_server):
    from jobs import extract

    pg = postgres_server.fresh("lending")
    pg.sql('DROP TABLE IF EXISTS odd; CREATE TABLE odd (id bigint, "sample.yr" int, "n visits" int, '
           'outcome boolean); INSERT INTO odd VALUES (1, 2001, 3, true)', "lending")
    monkeypatch.setenv("LENDING_DB_USER", pg.user)
    monkeypatch.setenv("LENDING_DB_PASSWORD", pg.password)
    cfg = load_config("test", lake_root=str(tmp_path / "lake"), overrides=[
        f"databases.lending.url={pg.url('lending')}", "extracts.loans.table=public.odd",
        "extracts.loans.watermark=null", "extracts.loans.partition_column=null"])
    with pytest.raises(ConfigError) as err:
        extract.run(spark, cfg, name="loans")
    assert str(err.value) == (
        'extract \'loans\': column(s) "sample.yr", "n visits" of public.odd are not plain names (letters, digits '
        'and _, starting with a letter), which Spark and Delta cannot store as they are: select them under plain '
        'names in a view (CREATE VIEW ... AS SELECT "sample.yr" AS sample_yr, "n visits" AS n_visits, <the other '
        'columns> FROM public.odd) and set extracts.loans.table to the view')
    assert not lake.exists(spark, cfg.table_path("loans_bronze"))
