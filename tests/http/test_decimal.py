"""Decimal128 values in result bodies: printed with exactly the type's scale in CSV (where
CnosDB's clients read `27.0000000000`, TPC-H q1), as bare numbers keeping that text in JSON
(arrow's writer), with NULLs as each format writes them."""

def make_prices(make_server, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "p.csv").write_text("id,q,n\n1,27,-0.5\n2,,1234567890123456789012345678.0123456789\n")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(d)})
    srv.sql_ok(f"CREATE EXTERNAL TABLE p (id BIGINT, q NUMERIC, n DECIMAL(38, 10)) "
               f"STORED AS CSV WITH HEADER ROW LOCATION '{d}/p.csv'")
    return srv


def test_csv_and_json_keep_the_scale(make_server, tmp_path):
    srv = make_prices(make_server, tmp_path)
    csv = srv.sql_ok("SELECT id, q, n FROM p ORDER BY id", accept="text/csv")
    assert csv.splitlines() == [
        "id,q,n",
        "1,27.0000000000,-0.5000000000",
        "2,,1234567890123456789012345678.0123456789",
    ]
    body = srv.sql_ok("SELECT id, q, n FROM p ORDER BY id", accept="application/json")
    assert body == ('[{"id":1,"q":27.0000000000,"n":-0.5000000000},'
                    '{"id":2,"n":1234567890123456789012345678.0123456789}]')


def test_aggregates_print_their_result_scale(make_server, tmp_path):
    srv = make_prices(make_server, tmp_path)
    csv = srv.sql_ok("SELECT sum(q) AS s, avg(q) AS a, sum(n) AS t FROM p", accept="text/csv")
    # sum keeps the scale (Decimal128(38, 10)), avg adds four digits (Decimal128(38, 14))
    assert csv.splitlines() == ["s,a,t", "27.0000000000,27.00000000000000,1234567890123456789012345677.5123456789"]
