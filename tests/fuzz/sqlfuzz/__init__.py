"""The SQL fuzzer behind tests/fuzz/sql_fuzz.py; see docs/testing.md."""
