"""Users, tenants, roles and privileges over HTTP (issue 9): DCL statements and their errors,
what each role may do on each endpoint, tenant isolation, passwords (hashed, checked, changed,
never stored as given), and that all of it survives a restart."""

import json
import os
import time

import pytest

from strata_http import basic, set_root_password

ROOT = basic("root", "")


def sql(srv, q, user="root", password="", tenant=None, db=None):
    params = {"tenant": tenant} if tenant else None
    return srv.sql(q, db=db, params=params, auth=basic(user, password))


def ok(srv, q, **kw):
    r = sql(srv, q, **kw)
    assert r.status == 200, (q, r)
    return r.text


def err(srv, q, status, text, **kw):
    r = sql(srv, q, **kw)
    assert r.status == status and text in r.json()["error_message"], (q, r)
    return r.json()


def write(srv, lines, user, tenant=None, db=None, path="/api/v1/write"):
    params = {"tenant": tenant} if tenant else {}
    if db:
        params["db"] = db
    return srv.request("POST", srv.url(path, params), lines, auth=basic(user, ""))


def test_users_ddl_and_errors(server):
    ok(server, "create user acc_u1")
    err(server, "create user acc_u1", 422, "The user acc_u1 already exists")
    ok(server, "create user if not exists acc_u1")
    ok(server, "create user acc_u2 with password = 'abc', must_change_password = true, "
               "comment = 'c'")
    err(server, "create user acc_u3 with colour = 'red'", 422, "Expected PASSWORD")
    err(server, "create user acc_u3 with comment = 1", 422, "Expected a string for COMMENT")
    err(server, "drop user root", 422, "User 'root' is prohibited from being dropped")
    err(server, "drop user acc_nobody", 422, "The user acc_nobody not found")
    ok(server, "drop user if exists acc_nobody")
    err(server, "alter user root set granted_admin = true", 422,
        "The root user does not support changing granted_admin")
    err(server, "alter user acc_nobody set comment = 'x'", 422, "The user acc_nobody not found")
    ok(server, "alter user acc_u1 rename to acc_u1b")
    err(server, "alter user acc_u1b rename to acc_u2", 422, "The user acc_u2 already exists")
    ok(server, "drop user acc_u1b")
    ok(server, "drop user acc_u2")
    err(server, "create user ''", 422, "Name cannot be empty")


def test_tenant_isolation_and_membership(server):
    ok(server, "create tenant acc_t1")
    err(server, "create tenant acc_t1", 422, "The tenant acc_t1 already exists")
    ok(server, "create user acc_own")
    ok(server, "alter tenant acc_t1 add user acc_own as owner")
    err(server, "alter tenant acc_t1 add user acc_own as member", 422,
        "The member acc_own of tenant acc_t1 already exists")
    err(server, "alter tenant acc_t1 add user acc_nobody as member", 422,
        "The user acc_nobody not found")
    err(server, "alter tenant acc_t1 add user acc_own as no_role", 422,
        "The role no_role not found")
    ok(server, "create database acc_db", user="acc_own", tenant="acc_t1")
    ok(server, "create table acc_tbl (v double, tags(h))", user="acc_own", tenant="acc_t1",
       db="acc_db")
    ok(server, "insert into acc_tbl (time, h, v) values (1, 'a', 1.5)", user="acc_own",
       tenant="acc_t1", db="acc_db")
    assert ok(server, "select h, v from acc_tbl", user="acc_own", tenant="acc_t1",
              db="acc_db") == "h,v\na,1.5\n"
    # invisible from the default tenant: names, data, errors
    assert "acc_db" not in ok(server, "show databases")
    err(server, "select * from acc_db.acc_tbl", 422, 'Table not found: "cnosdb.acc_db.acc_tbl"')
    # a member of acc_t1 only
    err(server, "select 1", 401, "The member acc_own of tenant cnosdb not found", user="acc_own")
    err(server, "select 1", 401, "The tenant acc_t2 not found", tenant="acc_t2")
    err(server, "select 1", 401, "The user acc_ghost not found", user="acc_ghost")
    # dropping the tenant drops its databases; its members are members of nothing
    err(server, "drop tenant cnosdb", 422, 'Tenant "cnosdb" forbid drop')
    ok(server, "drop tenant acc_t1")
    err(server, "select 1", 401, "The tenant acc_t1 not found", user="acc_own", tenant="acc_t1")
    ok(server, "create tenant acc_t1")
    ok(server, "alter tenant acc_t1 add user acc_own as owner")
    assert "acc_db" not in ok(server, "show databases", user="acc_own", tenant="acc_t1")
    ok(server, "drop tenant acc_t1")
    ok(server, "drop user acc_own")


def test_delayed_tenant_drop_and_recover(server):
    ok(server, "create tenant acc_td")
    ok(server, "create database acc_tdb", tenant="acc_td")
    ok(server, "drop tenant acc_td after '1d'")
    err(server, "select 1", 401, "The tenant acc_td not found", tenant="acc_td")
    ok(server, "recover tenant acc_td")
    assert "acc_tdb" in ok(server, "show databases", tenant="acc_td")
    ok(server, "drop tenant acc_td")


def test_roles_and_privileges_on_every_endpoint(server):
    ok(server, "create tenant acc_p")
    for u in ("acc_owner", "acc_member", "acc_writer", "acc_none"):
        ok(server, f"create user {u}")
    ok(server, "alter tenant acc_p add user acc_owner as owner")
    ok(server, "alter tenant acc_p add user acc_member as member")
    ok(server, "create database pdb", user="acc_owner", tenant="acc_p")
    ok(server, "create database pdb2", user="acc_owner", tenant="acc_p")
    ok(server, "create table pdb.m (v double, tags(h))", user="acc_owner", tenant="acc_p")
    # roles are the owners' business
    err(server, "create role acc_r inherit member", 422,
        "Insufficient privileges, expected [maintainer for all roles of tenant", user="acc_member",
        tenant="acc_p")
    err(server, "create role acc_r inherit acc_x", 422,
        "Semantic error: Expected [owner,member], found acc_x", user="acc_owner", tenant="acc_p")
    ok(server, "create role acc_r", user="acc_owner", tenant="acc_p")  # inherits nothing
    ok(server, "grant write on database pdb to role acc_r", user="acc_owner", tenant="acc_p")
    err(server, "grant read on database nodb to role acc_r", 422, 'Database not found: "nodb"',
        user="acc_owner", tenant="acc_p")
    err(server, "grant read on database pdb to role acc_nor", 422, "The role acc_nor not found",
        user="acc_owner", tenant="acc_p")
    ok(server, "alter tenant acc_p add user acc_writer as acc_r", user="acc_owner",
       tenant="acc_p")
    ok(server, "alter tenant acc_p add user acc_none as acc_r", user="acc_owner", tenant="acc_p")
    ok(server, "alter tenant acc_p remove user acc_none", user="acc_owner", tenant="acc_p")
    kw = {"tenant": "acc_p", "db": "pdb"}
    # member: reads everything, writes nothing, creates nothing
    ok(server, "select * from m", user="acc_member", **kw)
    ok(server, "show databases", user="acc_member", tenant="acc_p")
    err(server, "insert into m (time, h, v) values (1, 'a', 1)", 422,
        "Insufficient privileges, expected [Write on database pdb of tenant", user="acc_member",
        **kw)
    for path, body in (("/api/v1/write", "m,h=a v=1 1"), ("/write", "m,h=a v=1 1"),
                       ("/api/v1/opentsdb/write", "put m 1 1 h=a")):
        r = write(server, body, "acc_member", **kw, path=path)
        # /write answers as InfluxDB does: 403
        assert r.status == (403 if path == "/write" else 422), (path, r)
        assert "Write on database pdb" in r.text, (path, r)
    err(server, "create database pdb3", 422,
        "Insufficient privileges, expected [Write on all databases of tenant", user="acc_member",
        tenant="acc_p")
    err(server, "drop table m", 422, "[All on database pdb of tenant", user="acc_member", **kw)
    # the custom role: WRITE (so READ) on pdb only, nothing on pdb2
    ok(server, "insert into m (time, h, v) values (2, 'b', 2)", user="acc_writer", **kw)
    for path, body in (("/api/v1/write", "m,h=c v=3 3"), ("/api/v1/opentsdb/write",
                                                         "put m 4 4 h=d")):
        r = write(server, body, "acc_writer", **kw, path=path)
        assert r.status == 200, (path, r)
    assert ok(server, "select count(*) from m", user="acc_writer", **kw) == "COUNT(*)\n3\n"
    err(server, "show tables", 422, "[Read on database pdb2 of tenant", user="acc_writer",
        tenant="acc_p", db="pdb2")
    err(server, "select * from pdb2.x", 422, "[Read on database pdb2 of tenant",
        user="acc_writer", **kw)
    err(server, "show databases", 422, "[Read on all databases of tenant", user="acc_writer",
        tenant="acc_p")
    err(server, "create user acc_x", 422, "[maintainer for system]", user="acc_owner",
        tenant="acc_p")
    assert ok(server, "select current_role(), current_tenant()", user="acc_writer", **kw) == \
        "current_role(),current_tenant()\nacc_r,acc_p\n"
    # REVOKE takes it away; revoking what the role does not have is an error
    ok(server, "revoke write on database pdb from acc_r", user="acc_owner", tenant="acc_p")
    err(server, "insert into m (time, h, v) values (5, 'e', 5)", 422, "[Write on database pdb",
        user="acc_writer", **kw)
    ok(server, "select * from m", user="acc_writer", **kw)  # READ stays
    ok(server, "revoke read on database pdb from acc_r", user="acc_owner", tenant="acc_p")
    err(server, "select * from m", 422, "[Read on database pdb", user="acc_writer", **kw)
    err(server, "revoke read on database pdb from acc_r", 422,
        "cannot revoke the privilege Read on database pdb of role acc_r", user="acc_owner",
        tenant="acc_p")
    # a dropped role leaves its members with nothing
    ok(server, "grant all on database pdb to acc_r", user="acc_owner", tenant="acc_p")
    ok(server, "select * from m", user="acc_writer", **kw)
    ok(server, "drop role acc_r", user="acc_owner", tenant="acc_p")
    err(server, "select * from m", 422, "[Read on database pdb", user="acc_writer", **kw)
    # an administrator may do everything, in any tenant
    ok(server, "alter user acc_member set granted_admin = true")
    ok(server, "create user acc_y", user="acc_member", tenant="acc_p")
    ok(server, "drop user acc_y", user="acc_member", tenant="acc_p")
    err(server, "alter user root set comment = 'x'", 422, "[root user]", user="acc_member",
        tenant="acc_p")
    ok(server, "drop tenant acc_p")
    for u in ("acc_owner", "acc_member", "acc_writer", "acc_none"):
        ok(server, f"drop user {u}")


def test_passwords_checked_changed_and_hashed(make_server):
    srv = make_server(args=["--auth"])
    # root/root at first, and nothing but ALTER USER until it is changed (CnosDB)
    r = srv.sql("select 1", auth=basic("root", "root"))
    assert r.status == 422 and r.json() == {
        "error_code": "010004", "error_message":
        "Insufficient privileges, expected [change password]"}, r
    r = srv.write("pw f=1 1", auth=basic("root", "root"))
    assert r.status == 422 and "change password" in r.text, r
    r = srv.sql("alter user root set password = 'root'", auth=basic("root", "root"))
    assert r.status == 422 and "[input different password]" in r.text, r
    set_root_password(srv, "Root-Pa55")
    root = basic("root", "Root-Pa55")
    assert srv.sql("select 1", auth=basic("root", "root")).status == 401
    assert srv.sql("select 1", auth=root).status == 200
    secret = "Very-Secret-Passw0rd-4711"
    assert srv.sql(f"create user pw_u with password = '{secret}'", auth=root).status == 200
    assert srv.sql("alter tenant cnosdb add user pw_u as member", auth=root).status == 200
    for _ in range(3):  # the second time from the cache of verified passwords
        assert srv.sql("select 1", auth=basic("pw_u", secret)).status == 200
    for bad in ("", "very-secret-passw0rd-4711", secret + "x", secret[:-1]):
        r = srv.sql("select 1", auth=basic("pw_u", bad))
        assert r.status == 401, (bad, r)
    # a user changes their own password; the old one stops working at once
    r = srv.sql("alter user pw_u set password = 'Another-0ne'", auth=basic("pw_u", secret))
    assert r.status == 200, r
    assert srv.sql("select 1", auth=basic("pw_u", secret)).status == 401
    assert srv.sql("select 1", auth=basic("pw_u", "Another-0ne")).status == 200
    # but not someone else's
    r = srv.sql("alter user root set password = 'x'", auth=basic("pw_u", "Another-0ne"))
    assert r.status == 422 and "[root user]" in r.text, r
    srv.write_ok("pw f=1 1", auth=root)
    # nor in an error that quotes the request
    r = srv.sql(f"alter user pw_u set password = '{secret}'; select 1", auth=root)
    assert r.status == 422 and secret not in r.text and "Multi-statement" in r.text, r
    assert srv.stop() == 0
    # nothing in the data directory or the log holds a password as given
    for pw in (secret, "Another-0ne", "Root-Pa55"):
        assert pw not in srv.log_text()
        for base, _, files in os.walk(srv.data):
            for f in files:
                with open(os.path.join(base, f), "rb") as fh:
                    assert pw.encode() not in fh.read(), (pw, f)
    # and all of it survives a restart
    srv.start()
    assert srv.sql("select 1", auth=basic("pw_u", "Another-0ne")).status == 200
    assert srv.sql("select 1", auth=root).status == 200
    assert srv.sql("select 1", auth=basic("root", "root")).status == 401


def test_access_survives_restart(make_server):
    srv = make_server()
    ok(srv, "create tenant rs_t")
    ok(srv, "create user rs_u")
    ok(srv, "create database rs_db", tenant="rs_t")
    ok(srv, "create role rs_r inherit member", tenant="rs_t")
    ok(srv, "grant write on database rs_db to rs_r", tenant="rs_t")
    ok(srv, "alter tenant rs_t add user rs_u as rs_r")
    assert srv.stop() == 0
    srv.start()
    r = write(srv, "m v=1 1", "rs_u", tenant="rs_t", db="rs_db")
    assert r.status == 200, r
    assert ok(srv, "select current_role()", user="rs_u", tenant="rs_t") == \
        "current_role()\nrs_r\n"
    err(srv, "create database rs_db2", 422, "[Write on all databases", user="rs_u", tenant="rs_t")
    ok(srv, "drop user rs_u")
    assert srv.stop() == 0
    srv.start()
    err(srv, "select 1", 401, "The user rs_u not found", user="rs_u", tenant="rs_t")


@pytest.mark.parametrize("stmt", ["create tenant x_t", "drop tenant cnosdb", "create user x_u",
                                  "drop user root", "alter tenant cnosdb set comment = 'x'"])
def test_system_statements_need_an_administrator(server, stmt):
    ok(server, "create user if not exists acc_plain")
    ok(server, "alter tenant cnosdb set user acc_plain as owner")
    err(server, stmt, 422, "Insufficient privileges, expected [maintainer for system]",
        user="acc_plain")


def test_tenant_object_limits(server):
    ok(server, "create tenant lim_o with object_config max_databases = 1 max_users_number = 1 "
               "max_shard_number = 2 max_replicate_number = 1 max_retention_time = 30")
    ok(server, "create database lim_a with ttl '10d' shard 2", tenant="lim_o")
    err(server, "create database lim_b", 422, "the number of databases exceeds its limit 1",
        tenant="lim_o")
    ok(server, "drop database lim_a", tenant="lim_o")
    err(server, "create database lim_b with ttl '10d' shard 3", 422, "SHARD exceeds its limit 2",
        tenant="lim_o")
    err(server, "create database lim_b with ttl '31d'", 422, "TTL (days) exceeds its limit 30",
        tenant="lim_o")
    err(server, "create database lim_b", 422, "TTL (days) exceeds its limit 30", tenant="lim_o")
    ok(server, "create database lim_b with ttl '30d'", tenant="lim_o")
    err(server, "alter database lim_b set shard 5", 422, "SHARD exceeds its limit 2",
        tenant="lim_o")
    ok(server, "create user if not exists lim_u1")
    ok(server, "create user if not exists lim_u2")
    ok(server, "alter tenant lim_o add user lim_u1 as member")
    err(server, "alter tenant lim_o add user lim_u2 as member", 422,
        "the number of members exceeds its limit 1")
    ok(server, "alter tenant lim_o set user lim_u1 as owner")  # not a new member
    # the limits are gone with UNSET
    ok(server, "alter tenant lim_o unset _limiter")
    ok(server, "alter tenant lim_o add user lim_u2 as member")
    ok(server, "drop tenant lim_o")


def test_tenant_request_limits_429(server):
    ok(server, "create tenant lim_r with http_queries remote_max = 3 remote_initial = 3 "
               "remote_refill = 3 remote_interval = 500 local_max = 0 local_initial = 0, "
               "http_writes remote_max = 2 remote_initial = 2 remote_refill = 0 "
               "remote_interval = 1000 local_max = 0 local_initial = 0")
    ok(server, "create database lim_db", tenant="lim_r")  # one query of three
    codes = [sql(server, "select 1", tenant="lim_r").status for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[2:] == [429, 429], codes
    r = sql(server, "select 1", tenant="lim_r")
    assert r.status == 429 and r.json() == {"error_code": "030024",
                                            "error_message": "HttpQueries reached limit"}, r
    # other tenants are not affected
    assert sql(server, "select 1").status == 200
    # writes have their own bucket, which never refills here
    codes = [write(server, f"m v={i} {i}", "root", tenant="lim_r", db="lim_db").status
             for i in range(1, 4)]
    assert codes == [200, 200, 429], codes
    # the query bucket refills with time (3 tokens every 500 ms)
    deadline = time.monotonic() + 10
    while sql(server, "select 1", tenant="lim_r").status == 429:
        assert time.monotonic() < deadline, "the bucket never refilled"
        time.sleep(0.1)
    ok(server, "alter tenant lim_r unset _limiter")
    for _ in range(10):
        assert sql(server, "select 1", tenant="lim_r").status == 200
    ok(server, "drop tenant lim_r")


def replay_dump(srv, script):
    """Runs a dump as cnosdb-cli would: `\\change_tenant` / `\\change_database` lines switch
    where the statements after them run."""
    tenant, db = None, None
    for line in script.splitlines():
        if not line or line.startswith("--"):
            continue
        if line.startswith("\\change_tenant "):
            tenant, db = line.split(" ", 1)[1], None
            continue
        if line.startswith("\\change_database "):
            db = line.split(" ", 1)[1]
            continue
        ok(srv, line, tenant=tenant, db=db)


def test_dump_ddl_recreates_everything(make_server):
    src = make_server()
    ok(src, "create user d_u with comment = 'it''s', granted_admin = true")
    ok(src, "create user d_v with must_change_password = true")
    ok(src, "create tenant d_t with comment = 'team', object_config max_databases = 5, "
            "http_writes remote_max = 100 remote_initial = 100 remote_refill = 10 "
            "remote_interval = 1000 local_max = 0 local_initial = 0")
    ok(src, "create database d_db with ttl '30d' shard 2 precision 'ms'", tenant="d_t")
    ok(src, 'create table m (v double codec(gorilla), n bigint unsigned, b boolean, s string, '
            'tags(h, "we""ird"))', tenant="d_t", db="d_db")
    ok(src, "create role d_r inherit member", tenant="d_t")
    ok(src, "grant write on database d_db to d_r", tenant="d_t")
    ok(src, "alter tenant d_t add user d_v as d_r")
    ok(src, "alter tenant d_t add user d_u as owner")
    ok(src, "create table pub (x string, tags(t))")
    # it needs an administrator, and is GET
    ok(src, "alter tenant cnosdb add user d_v as member")
    r = src.request("GET", "/api/v1/dump/sql/ddl", auth=basic("d_v", ""))
    assert r.status == 422 and "[maintainer for system]" in r.text, r
    assert src.request("DELETE", "/api/v1/dump/sql/ddl").status == 405
    r = src.request("GET", "/api/v1/dump/sql/ddl?tenant=nope")
    assert r.status == 401 and "The tenant nope not found" in r.text, r
    r = src.request("GET", "/api/v1/dump/sql/ddl")
    assert r.status == 200, r
    script = r.text
    assert " password =" not in script.lower().replace("set password = '...'", "")
    one = src.request("GET", "/api/v1/dump/sql/ddl?tenant=d_t").text
    assert "d_db" in one and '"pub"' not in one and "d_u" in one
    dst = make_server()
    replay_dump(dst, script)
    again = dst.request("GET", "/api/v1/dump/sql/ddl")
    assert again.status == 200 and again.text == script, (script, again.text)
    assert ok(dst, "select current_role()", user="d_v", tenant="d_t") == "current_role()\nd_r\n"
    r = write(dst, "m,h=a v=1", "d_v", tenant="d_t", db="d_db")  # now: inside the TTL
    assert r.status == 200, r


def test_access_views_scoped(server):
    ok(server, "create tenant v_t")
    for u in ("v_own", "v_mem", "v_cus"):
        ok(server, f"create user {u}")
    ok(server, "alter user v_own set comment = 'c'")
    ok(server, "alter tenant v_t add user v_own as owner")
    ok(server, "alter tenant v_t add user v_mem as member")
    kw = {"tenant": "v_t"}
    ok(server, "create database v_db", **kw)
    ok(server, "create role v_r inherit member", **kw)
    ok(server, "create role v_r2", **kw)
    ok(server, "grant write on database v_db to v_r", **kw)
    ok(server, "grant read on database v_db to v_r2", **kw)
    ok(server, "alter tenant v_t add user v_cus as v_r")
    roles = "role_name,role_type,inherit_role\nmember,system,\nowner,system,\nv_r,custom,member\n" \
            "v_r2,custom,\n"
    q = "select * from information_schema.roles order by role_name"
    assert ok(server, q, **kw) == roles
    assert ok(server, q, user="v_own", **kw) == roles
    assert ok(server, q, user="v_mem", **kw) == "role_name,role_type,inherit_role\n"
    q = "select * from information_schema.members order by user_name"
    assert ok(server, q, user="v_own", **kw) == \
        "user_name,role_name\nv_cus,v_r\nv_mem,member\nv_own,owner\n"
    # every member of the tenant sees its member list (CnosDB's members.slt: a plain member)
    members = "user_name,role_name\nv_cus,v_r\nv_mem,member\nv_own,owner\n"
    assert ok(server, q, user="v_cus", **kw) == members
    assert ok(server, q, user="v_mem", **kw) == members
    q = "select * from information_schema.enabled_roles"
    assert ok(server, q, user="v_cus", **kw) == "role_name\nv_r\n"
    assert ok(server, q, user="v_mem", **kw) == "role_name\nmember\n"
    assert ok(server, q, **kw) == "role_name\n"  # root holds no role there
    q = "select * from information_schema.database_privileges order by role_name"
    assert ok(server, q, user="v_own", **kw) == ("tenant_name,database_name,privilege_type,"
                                                 "role_name\nv_t,v_db,Write,v_r\nv_t,v_db,Read,"
                                                 "v_r2\n")
    assert ok(server, q, user="v_cus", **kw) == ("tenant_name,database_name,privilege_type,"
                                                 "role_name\nv_t,v_db,Write,v_r\n")
    err(server, "drop role owner", 422, "Couldn't drop system role owner", **kw)
    # cluster_schema: administrators, in cnosdb only; passwords never show
    ok(server, "alter tenant cnosdb add user v_own as owner")
    q = "select * from cluster_schema.users where user_name in ('root', 'v_own') order by user_name"
    assert ok(server, q) == ('user_name,is_admin,user_options\n'
                             'root,true,"{""hash_password"":""*****"",""must_change_password"":true,'
                             '""comment"":""system admin""}"\n'
                             'v_own,false,"{""hash_password"":""*****"",""comment"":""c""}"\n')
    assert ok(server, q, user="v_own") == "user_name,is_admin,user_options\n"
    err(server, "select * from cluster_schema.users", 422,
        'Table not found: "v_t.cluster_schema.users"', **kw)
    ok(server, "alter tenant v_t set comment = 'team'")
    assert ok(server, "select tenant_options from cluster_schema.tenants "
                      "where tenant_name = 'v_t'") == \
        'tenant_options\n"{""comment"":""team"",""limiter_config"":null,""drop_after"":null,' \
        '""tenant_is_hidden"":false}"\n'
    # drop_after as CnosDB's Duration; limits on the system tenant are refused
    ok(server, "alter tenant v_t set drop_after = '7m'")
    assert '""drop_after"":{""time_num"":7,""unit"":""Minutes""}' in ok(
        server, "select tenant_options from cluster_schema.tenants where tenant_name = 'v_t'")
    ok(server, "alter tenant v_t unset drop_after")
    # the limiter as CnosDB's TenantLimiterConfig: object_config, then every request kind
    ok(server, "alter tenant v_t set object_config max_databases = 3, http_queries remote_max = 9 "
               "remote_initial = 1 remote_refill = 2 remote_interval = 10 local_max = 4 "
               "local_initial = 0")
    cell = ok(server, "select tenant_options from cluster_schema.tenants where tenant_name = "
                      "'v_t'").split("\n", 1)[1].strip()
    lim = json.loads(cell[1:-1].replace('""', '"'))["limiter_config"]  # one quoted CSV cell
    assert lim["object_config"] == {"max_users_number": None, "max_databases": 3,
                                    "max_shard_number": None, "max_replicate_number": None,
                                    "max_retention_time": None}
    assert list(lim["request_config"]) == ["coord_data_in", "coord_data_out", "coord_queries",
                                           "coord_writes", "http_data_in", "http_data_out",
                                           "http_queries", "http_writes"]
    assert lim["request_config"]["http_queries"] == {
        "remote_bucket": {"max": 9, "initial": 1, "refill": 2, "interval": 10},
        "local_bucket": {"max": 4, "initial": 0}}
    assert lim["request_config"]["coord_data_in"] is None
    ok(server, "alter tenant v_t unset _limiter")
    err(server, "alter tenant cnosdb set object_config max_databases = 3", 422,
        "Tenant cnosdb cannot be restricted")
    ok(server, "alter tenant cnosdb set comment = 'still the system tenant'")
    ok(server, "alter tenant cnosdb remove user v_own")
    ok(server, "drop tenant v_t")
    for u in ("v_own", "v_mem", "v_cus"):
        ok(server, f"drop user {u}")


def test_usage_schema_metrics_per_tenant(make_server):
    srv = make_server(env={"STRATA_USAGE_REPORT_INTERVAL": "200ms"})
    ok(srv, "create tenant us_t")
    ok(srv, "create user us_u")
    ok(srv, "alter tenant us_t add user us_u as owner")
    ok(srv, "alter tenant cnosdb add user us_u as member")
    ok(srv, "create database us_db", user="us_u", tenant="us_t")
    r = write(srv, "m,h=a v=1", "us_u", tenant="us_t", db="us_db")
    assert r.status == 200, r
    for _ in range(3):
        ok(srv, "select * from m", user="us_u", tenant="us_t", db="us_db")
    q = ("select max(value) from usage_schema.http_queries where database = 'us_db' "
         "and tenant = 'us_t'")
    deadline = time.monotonic() + 20
    while not (r := sql(srv, q)).text.endswith("\n3\n"):  # the table appears with a report
        assert time.monotonic() < deadline, r
        time.sleep(0.1)
    # each tenant reads its own rows; an administrator in cnosdb reads everyone's
    own = "select distinct tenant from usage_schema.coord_queries order by tenant"
    assert ok(srv, own, user="us_u", tenant="us_t") == "tenant\nus_t\n"
    assert ok(srv, own, user="us_u") == "tenant\ncnosdb\n"
    assert ok(srv, own) == "tenant\ncnosdb\nus_t\n"
    assert ok(srv, "select max(value) from usage_schema.http_writes", user="us_u",
              tenant="us_t") == "MAX(http_writes.value)\n1\n"
    # caches and files per vnode, and CnosDB's columns
    assert "us_db" in ok(srv, "select distinct database from usage_schema.vnode_cache_size")
    assert ok(srv, "describe table usage_schema.coord_data_in") == (
        "column_name,data_type,column_type,compression_codec\n"
        "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT\ndatabase,STRING,TAG,DEFAULT\n"
        "node_id,STRING,TAG,DEFAULT\ntenant,STRING,TAG,DEFAULT\n"
        "value,BIGINT UNSIGNED,FIELD,DEFAULT\n")
