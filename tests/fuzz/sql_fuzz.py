#!/usr/bin/python3
"""SQL fuzzer for Strata: random schemas, data and queries against the (sanitizer) server,
answers checked with SQLancer's oracles (TLP, NoREC) and differential ones; see
tests/fuzz/sqlfuzz/oracles.py for the list and docs/testing.md for how to use it.

  make fuzz-sql FUZZ_SECONDS=600
  /usr/bin/python3 tests/fuzz/sql_fuzz.py --seconds 600 --seed 7 --findings DIR
  /usr/bin/python3 tests/fuzz/sql_fuzz.py --replay ROUND_SEED        # one round, verbose
  /usr/bin/python3 tests/fuzz/sql_fuzz.py --recheck DIR             # do saved findings still fail?

Everything a round does follows from its round seed (derived from --seed and the round
number), so a finding names the seed that replays it. Exit status: 0 without findings, 1 with.
"""

import argparse
import fnmatch
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sqlfuzz.background import BackgroundWriter  # noqa: E402
from sqlfuzz.gen import DataGen, ExprGen, Model, final_cols, make_rng, value_pools  # noqa: E402
from sqlfuzz.oracles import BY_NAME, WEIGHTS, Ctx  # noqa: E402
from sqlfuzz.relational import REL_ORACLES  # noqa: E402
from sqlfuzz.reduce import Reducer  # noqa: E402
from sqlfuzz.report import show, write_finding  # noqa: E402
from sqlfuzz.runner import (Case, Outcome, Runner, SetupError, case_from_json,  # noqa: E402
                            case_to_json)  # noqa: E402
from sqlfuzz.server import Fault, Server  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --tight-limits: a query memory limit the sorts and groupings of a big round exceed, a
# query timeout below the fuzzer's (a query that query_timeout does not stop shows up as a
# hang) and small memcaches (writes flush often): the limits' paths run often.
TIGHT_CONFIG = """[query]
query_memory_limit = "3MiB"
query_timeout = "5s"

[storage]
max_memcache_size = "64KiB"
"""
TIGHT_500 = (r"Resources exhausted: .*query_memory_limit",
             r"Query timeout: the query ran past its deadline")


def round_seed(seed, i):
    return random.Random(f"{seed}:{i}").getrandbits(48)


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.logf = open(args.log, "a") if args.log else None
        if args.tight_limits:
            self.srv = Server(args.binary, timeout=args.timeout, log=self.log,
                              config=TIGHT_CONFIG, expected_500=TIGHT_500)
        else:
            self.srv = Server(args.binary, timeout=args.timeout, log=self.log)
        self.runner = Runner(self.srv, log=self.log if args.verbose else None)
        self.stats = {"rounds": 0, "checks": 0, "ok": 0, "skip": 0, "fail": 0, "faults": 0,
                      "findings": 0, "new": 0}
        self.per_oracle = {}
        self.skip_reasons = {}
        self.known_globs = []  # (fnmatch pattern, finding): a class of wrong answers filed
        self.known = self.load_known()
        self.rev = self.binary_rev()

    # ------------------------------------------------------------ plumbing

    def log(self, msg):
        line = f"[{time.monotonic() - self.t0:8.1f}s] {msg}"
        print(line, flush=True)
        if self.logf:
            self.logf.write(line + "\n")
            self.logf.flush()

    def binary_rev(self):
        try:
            ver = subprocess.run([self.args.binary, "--version"], capture_output=True,
                                 text=True, timeout=30).stdout.strip()
        except OSError:
            ver = "?"
        return f"{self.args.binary} ({ver or '?'})"

    def load_known(self):
        """Signatures of the findings in --findings and in its fixed/ folder (where they go
        once fixed: a fix may not be in the binary under test yet; --recheck DIR/fixed tells
        whether it is)."""
        known = {}
        d = self.args.findings
        if d and os.path.isdir(d):
            for sub in (d, os.path.join(d, "fixed")):
                if not os.path.isdir(sub):
                    continue
                for name in sorted(os.listdir(sub)):
                    if not name.endswith(".json"):
                        continue
                    try:
                        with open(os.path.join(sub, name)) as f:
                            c = case_from_json(f.read())
                        known[c.saved_signature] = name[:-5]
                    except (OSError, ValueError, KeyError) as ex:
                        self.log(f"cannot read {name}: {ex}")
            known.update(self.load_aliases())
        return known

    def load_aliases(self):
        """More signatures of bugs already filed, from known-signatures.txt: lines
        "signature<TAB>finding", and "glob:PATTERN<TAB>finding" for a class of wrong answers
        (kept in known_globs). Read again at each finding, so lines added during a long run
        count from then on."""
        known, self.known_globs = {}, []
        path = os.path.join(self.args.findings or "", "known-signatures.txt")
        if self.args.findings and os.path.exists(path):
            with open(path) as f:
                for line in f:
                    sig, _, name = line.rstrip("\n").partition("\t")
                    if sig.startswith("glob:"):
                        self.known_globs.append((sig[5:], name or "(alias)"))
                    elif sig and not sig.startswith("#"):
                        known[sig] = name or "(alias)"
        return known

    def known_glob(self, sig):
        """The finding a glob line of known-signatures.txt files sig under, or None."""
        return next((name for pat, name in self.known_globs if fnmatch.fnmatchcase(sig, pat)),
                    None)

    def out_of_time(self):
        a = self.args
        if a.seconds and time.monotonic() - self.t0 >= a.seconds:
            return True
        if a.queries and self.runner.queries >= a.queries:
            return True
        if a.rounds and self.stats["rounds"] >= a.rounds:
            return True
        return False

    # ------------------------------------------------------------ rounds

    def run(self):
        a = self.args
        self.log(f"sql fuzz: seed {a.seed}, binary {self.rev}, budget "
                 f"{a.seconds or '-'} s / {a.queries or '-'} queries")
        self.srv.start()
        bg = None
        if a.background_writes:
            bg = BackgroundWriter(self.srv, self.runner, a.seed)
            bg.start()
        last = time.monotonic()
        i = 0
        try:
            while not self.out_of_time():
                self.one_round(round_seed(a.seed, i), f"--seed {a.seed}, round {i}")
                i += 1
                if time.monotonic() - last > a.status_every:
                    self.status()
                    last = time.monotonic()
        except KeyboardInterrupt:
            self.log("interrupted")
        finally:
            if bg:
                bg.stop()
                self.log(f"background writes: {bg.writes}")
            fault = self.srv.stop(check_exit=True)
            if fault:
                self.log(f"at shutdown: {fault.kind}: {fault.detail}\n{fault.report[:2000]}")
                self.stats["faults"] += 1
                self.stats["findings"] += 1
        self.status()
        return 1 if self.stats["findings"] else 0

    def status(self):
        s = self.stats
        el = time.monotonic() - self.t0
        q = self.runner.queries
        per = ", ".join(f"{k} {v['ok']}/{v['skip']}/{v['fail']}"
                        for k, v in sorted(self.per_oracle.items()))
        self.log(f"status: {el / 3600:.2f} h, {s['rounds']} rounds, {q} queries "
                 f"({q / max(el, 1):.0f}/s), checks ok {s['ok']} skip {s['skip']} fail "
                 f"{s['fail']}, faults {s['faults']}, findings {s['findings']} (new {s['new']}, "
                 f"known {s.get('known', 0)}), fuzzer errors {s.get('fuzzer_errors', 0)}, "
                 f"server starts {self.srv.starts}, refused steps {self.runner.rejected_steps}")
        self.log(f"  per oracle ok/skip/fail: {per}")
        if self.args.verbose:
            top = sorted(self.skip_reasons.items(), key=lambda kv: -kv[1])[:12]
            for reason, n in top:
                self.log(f"  skip {n:6d}  {reason}")

    def one_round(self, seed, origin):
        """Sets up one database from the round seed and runs the model check and
        --checks random oracle checks on it. After a fault the server is restarted, the
        database set up again, and the round goes on (up to three faults)."""
        a = self.args
        rng = make_rng(seed)
        origin = f"{origin} (round seed {seed}: replay with --replay {seed})"
        schema, steps = DataGen(rng).case("fz")
        self.stats["rounds"] += 1
        names = [n for n in WEIGHTS if WEIGHTS[n] and (not a.oracles or n in a.oracles)]
        state = {}
        faults = 0

        def setup():
            self.runner.fresh_db(schema)
            done = self.runner.setup(schema, steps)
            cols = final_cols(schema, done)
            state["ctx"] = Ctx(schema, cols, Model.of(done),
                               any(s.kind == "delete" for s in done))
            state["done"] = done
            return cols

        try:
            try:
                cols = setup()
            except SetupError as ex:
                self.log(f"round {seed}: {ex}")
                return
            except Fault as f:
                self.stats["faults"] += 1
                case = Case(schema, steps)
                case.outcome = ("fault", f)
                case.failing_sql = [f.request]
                self.finding(case, origin)
                return
            ctx = state["ctx"]
            g = ExprGen(rng, cols, schema.precision, value_pools(cols, ctx.model))
            plan = ["model"] + rng.choices(names, [WEIGHTS[n] for n in names], k=a.checks)
            if rng.random() < 0.3:
                plan.append("delete")
            for name in plan:
                if self.out_of_time():
                    break
                oracle = BY_NAME[name]
                po = self.per_oracle.setdefault(name, {"ok": 0, "skip": 0, "fail": 0})
                try:
                    params = oracle.gen(g, ctx)
                    if params is None:
                        continue
                    self.stats["checks"] += 1
                    out, detail, qs, results = self.runner.run_check(ctx, oracle, params)
                except Fault as f:
                    self.stats["faults"] += 1
                    po["fail"] += 1
                    case = Case(schema, state["done"], name, params)
                    case.outcome = ("fault", f)
                    case.failing_sql = [f.request]
                    starts = self.srv.starts
                    self.finding(case, origin)
                    faults += 1
                    if faults >= 3 or not self.resume(setup, starts):
                        return
                    continue
                except Exception:  # noqa: BLE001 - a bug of the fuzzer must not end a long run
                    self.stats["fuzzer_errors"] = self.stats.get("fuzzer_errors", 0) + 1
                    self.log(f"fuzzer error in {name} ({origin}):\n{traceback.format_exc()}")
                    continue
                self.stats[out] += 1
                po[out] += 1
                if out == Outcome.SKIP:
                    m = re.search(r'"error_message":"((?:[^"\\]|\\.)*)', detail or "")
                    reason = m.group(1) if m else (detail or "?")
                    reason = f"{name}: " + re.sub(r"\d+", "N", reason)[:90]
                    self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1
                elif out == Outcome.FAIL:
                    case = Case(schema, state["done"], name, params)
                    case.outcome = ("mismatch", detail)
                    case.failing_sql = qs
                    case.results = results
                    starts = self.srv.starts
                    self.finding(case, origin)
                    if name == "model":
                        return  # the data is not what was written: other checks would mislead
                    if not self.resume(setup, starts):
                        return
        finally:
            if self.srv.alive():
                self.runner.drop(schema)
            else:
                self.srv.start()

    def resume(self, setup, starts):
        """After a finding: if the server was restarted meanwhile (a crash, or the reducer's
        replays), set the round's database up again on the new one."""
        if not self.srv.alive():
            self.srv.start()
        if self.srv.starts == starts:
            return True
        try:
            setup()
            return True
        except (SetupError, Fault):
            return False

    # ------------------------------------------------------------ findings

    def finding(self, case, origin):
        a = self.args
        self.stats["findings"] += 1
        kind, what = case.outcome
        sig = case.signature()
        if not self.srv.alive():
            self.srv.start()
        self.known.update(self.load_aliases())
        if sig in self.known and kind == "fault" and what.kind != "hang":
            self.stats["known"] = self.stats.get("known", 0) + 1
            if a.verbose:
                self.log(f"known finding {self.known[sig]} ({origin})")
            return
        glob = self.known_glob(sig)
        if glob:
            # a wrong answer of a class already filed: not reduced again
            self.stats["known"] = self.stats.get("known", 0) + 1
            self.log(f"known finding {glob} ({origin}): {sig}")
            return
        self.log(f"FINDING ({origin}): {sig}\n  {what if kind == 'mismatch' else what.detail}"
                 f"\n  query: {show(case.failing_sql[-1])[:400] if case.failing_sql else '?'}")
        if not a.no_reduce:
            red = Reducer(self.runner, budget=a.reduce_seconds, log=self.log)
            t = time.monotonic()
            case = red.reduce(case)
            sig = case.signature()
            self.log(f"  reduced in {time.monotonic() - t:.0f} s, {red.attempts} attempts: {sig}")
        if sig in self.known or self.known_glob(sig):
            self.log(f"  known as {self.known.get(sig) or self.known_glob(sig)}")
            return
        self.stats["new"] += 1
        if a.findings:
            path = write_finding(a.findings, case, origin, self.rev, case_to_json(case))
            self.known[sig] = os.path.basename(path)[:-4]
            self.log(f"  written to {path}")
        else:
            self.known[sig] = "(this run)"
            from sqlfuzz.report import render
            self.log(render(case, origin, self.rev))

    # ------------------------------------------------------------ recheck

    def recheck(self, directory):
        self.srv.start()
        still = 0
        try:
            for name in sorted(os.listdir(directory)):
                if not name.endswith(".json"):
                    continue
                with open(os.path.join(directory, name)) as f:
                    case = case_from_json(f.read())
                out = self.runner.replay(case)
                kind, what = out
                if kind == "fault":
                    state = f"FAILS ({what.signature})"
                    still += 1
                elif kind == "mismatch":
                    state = f"FAILS ({what.splitlines()[0][:100]})"
                    still += 1
                else:
                    state = f"passes ({kind}{': ' + what[:80] if what else ''})"
                self.log(f"{name[:-5]}: {state}")
        finally:
            self.srv.stop()
        self.log(f"{still} findings still fail")
        return 1 if still else 0


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "asan", "strata"))
    ap.add_argument("--seconds", type=float, default=60, help="time budget (0: none)")
    ap.add_argument("--queries", type=int, default=0, help="stop after this many queries")
    ap.add_argument("--rounds", type=int, default=0, help="stop after this many rounds")
    ap.add_argument("--seed", type=int, default=None, help="default: from the clock")
    ap.add_argument("--checks", type=int, default=40, help="oracle checks per round")
    ap.add_argument("--timeout", type=float, default=30, help="seconds a request may take")
    ap.add_argument("--findings", default=None,
                    help="directory for findings (NNN-slug.txt + .json); default: print them")
    ap.add_argument("--reduce-seconds", type=float, default=300)
    ap.add_argument("--no-reduce", action="store_true")
    ap.add_argument("--log", default=None, help="also append the log to this file")
    ap.add_argument("--status-every", type=float, default=60)
    ap.add_argument("--background-writes", action="store_true",
                    help="a second client writes to and compacts another table of the "
                         "round's database meanwhile")
    ap.add_argument("--tight-limits", action="store_true",
                    help="run the server with a 3 MiB query memory limit, a 5 s query "
                         "timeout (their errors are answers, not findings) and 64 KiB "
                         "memcaches")
    ap.add_argument("--replay", type=int, default=None, metavar="ROUND_SEED",
                    help="run the one round with this seed")
    ap.add_argument("--recheck", default=None, metavar="DIR",
                    help="replay the findings saved in DIR and say which still fail")
    ap.add_argument("--oracles", default=None, metavar="NAMES",
                    help="run only these oracles (comma-separated names; 'rel' for the "
                         "relational ones: joins, subqueries, windows, set operations, "
                         "grouping sets)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.oracles:
        names = set()
        for n in args.oracles.split(","):
            names |= {o.name for o in REL_ORACLES} if n == "rel" else {n}
        unknown = names - set(BY_NAME)
        if unknown:
            sys.exit(f"unknown oracles: {', '.join(sorted(unknown))}")
        args.oracles = names
    # SIGTERM (a run in the background being stopped) ends like Ctrl-C: the server is
    # stopped and the totals are logged
    signal.signal(signal.SIGTERM, interrupt)
    if args.seed is None:
        args.seed = int(time.time()) % 1000000
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: run `make asan` first")
    fz = Fuzzer(args)
    if args.recheck:
        return fz.recheck(args.recheck)
    if args.replay is not None:
        args.verbose = True
        args.seconds = 0
        fz.srv.start()
        try:
            fz.one_round(args.replay, f"--replay {args.replay}")
        finally:
            fz.srv.stop()
        fz.status()
        return 1 if fz.stats["findings"] else 0
    return fz.run()


if __name__ == "__main__":
    sys.exit(main())
