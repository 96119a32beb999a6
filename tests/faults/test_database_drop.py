"""The source database drops the connection in the middle of an extract (an administrator
ends the session, as a fail-over does): one clear error, nothing landed, the watermark
unmoved; the next run lands exactly the source's rows."""

from __future__ import annotations

import threading
import time

import pytest

from crosslake import lake
from crosslake.errors import CrosslakeError
from jobs import ingest
from tests.bad_input.test_database import cfg_for, pg  # noqa: F401  (fixtures: a real PostgreSQL)

ROWS = 3000
COLUMNS = ("loan_id, applied_on, amount, term_months, annual_income, employment_years, home_ownership, purpose, "
           "grade, defaulted, updated_at")


def test_the_database_drops_the_connection_mid_extract(cfg_for, pg, spark):  # noqa: F811
    cfg = cfg_for("loans_slow", more=("extracts.loans.num_partitions=1",))
    # the rows live in loans_slow_rows; the view the extract reads takes ~1 ms a row, so the
    # read is still running when the session is ended
    pg.sql(f"""ALTER TABLE loans_slow RENAME TO loans_slow_rows;
        INSERT INTO loans_slow_rows SELECT g, DATE '2022-03-04' + (g % 300), 1000 + g, 36, 50000 + g, g % 20,
            'rent', 'car', 'B', g % 7 = 0, TIMESTAMP '2022-03-05 10:00' + g * INTERVAL '1 minute'
            FROM generate_series(1, {ROWS}) g;
        CREATE FUNCTION slowly(id bigint) RETURNS bigint AS 'SELECT $1 FROM (SELECT pg_sleep(0.001)) z'
            LANGUAGE sql VOLATILE;
        CREATE VIEW loans_slow AS
            SELECT slowly(loan_id) AS loan_id, {COLUMNS.split(", ", 1)[1]} FROM loans_slow_rows""",
           "lending")

    ended = []

    def end_the_session() -> None:
        deadline = time.monotonic() + 120
        while not ended and time.monotonic() < deadline:
            out = pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'active' "
                         "AND query LIKE '%FROM public.loans_slow %' AND pid <> pg_backend_pid()", "lending")
            if "t" in out.split():
                ended.append(time.monotonic())
            time.sleep(0.3)

    killer = threading.Thread(target=end_the_session)
    killer.start()
    try:
        with pytest.raises(CrosslakeError, match=r"the connection to .*lending.* was lost while reading "
                                                 r"public\.loans_slow \(.*terminat.*\); nothing was written") as lost:
            ingest.run(spark, cfg, dataset="loans")
    finally:
        ended.append(None)  # stop looking
        killer.join()
    assert isinstance(ended[0], float), "the extract ended before its session was terminated"
    assert "\n" not in str(lost.value)
    assert not lake.exists(spark, cfg.table_path("loans_bronze"))
    if lake.exists(spark, cfg.table_path("watermarks")):
        assert lake.read_table(spark, cfg, "watermarks").filter("extract = 'loans'").count() == 0

    result = ingest.run(spark, cfg, dataset="loans")       # the database is fine again
    landed = lake.read_table(spark, cfg, "loans_bronze")
    source = pg.sql("SELECT string_agg(loan_id || ':' || amount, ',' ORDER BY loan_id) FROM loans_slow_rows",
                    "lending").split(",")
    got = [f"{r.loan_id}:{r.amount:g}" for r in landed.orderBy("loan_id").select("loan_id", "amount").collect()]
    assert len(got) == ROWS == len(source) and got == source
    assert result.rows_read == ROWS
