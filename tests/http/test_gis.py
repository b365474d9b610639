"""GEOMETRY columns over the line protocol: a value that is not WKT of the column's sub_type
fails the whole write request (422) and nothing of it is stored, not even its good lines;
what was acknowledged before stays, through a kill -9."""

from strata_http import csv_rows


def test_line_protocol_geometry_check(make_server):
    srv = make_server()
    srv.sql_ok("CREATE TABLE geo (loc GEOMETRY(POINT, 0), area GEOMETRY(POLYGON, 0), n BIGINT, "
               "TAGS(site))")
    srv.write_ok('geo,site=a loc="POINT (1 2)",n=1i 1000\n'
                 'geo,site=b area="POLYGON ((0 0, 1 0, 1 1, 0 0))",n=2i 1000')

    # the good first line goes down with the bad second one
    r = srv.write('geo,site=c loc="POINT (5 5)",n=3i 2000\n'
                  'geo,site=d loc="LINESTRING (0 0, 1 1)",n=4i 2000')
    assert r.status == 422, r
    assert r.json()["error_message"] == (
        "Invalid geometry type, error: expect Point, got LINESTRING(0.0 0.0,1.0 1.0)")

    r = srv.write('geo,site=e area="not wkt",n=5i 3000')
    assert r.status == 422, r
    assert r.json()["error_message"] == "Invalid geometry, error: Invalid type encountered"

    # a string field the table does not have yet is an ordinary STRING: no check
    srv.write_ok('geo,site=f label="POINT (1 2)",n=6i 4000')

    q = "select site, loc, area, n from geo order by site"
    want = srv.sql_ok(q, accept="text/csv")
    assert csv_rows(want) == [
        "site,loc,area,n",
        "a,POINT (1 2),,1",
        'b,,"POLYGON ((0 0, 1 0, 1 1, 0 0))",2',
        "f,,,6",
    ]
    srv.kill()
    srv.start()
    assert srv.sql_ok(q, accept="text/csv") == want
    r = srv.write('geo,site=g loc="POLYGON ((0 0, 1 0, 1 1, 0 0))" 5000')
    assert r.status == 422, r
