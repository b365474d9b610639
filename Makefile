# Strata build. Sources are discovered by folder, so a new module needs no edit here.
#   make            release binary build/strata
#   make run        build and start the server on 127.0.0.1:8902 with data in ./data
#   make test       unit tests under ASan+UBSan, SQL logic tests, HTTP black-box tests
#   make bench      ingestion, storage, schema and TSBS query benchmarks against InfluxDB,
#                   VictoriaMetrics and DuckDB (docs/benchmarks.md)
#   make asan       sanitizer build of the server (build/asan/strata)
#   make tsan       ThreadSanitizer build of the server (build/tsan/strata); run the HTTP tests
#                   against it with STRATA_BIN=build/tsan/strata
#   make fuzz       libFuzzer targets for the parsers
#   make fuzz-sql   SQL fuzzer with TLP/NoREC oracles against the sanitizer build for
#                   FUZZ_SECONDS (default 60); FUZZ_SEED, FUZZ_FINDINGS=dir optional
#   make fuzz-ts    time-series function fuzzer (crash, 5xx and sanitizer oracle), same knobs

CC      ?= cc
CXX     ?= c++
VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
# The revision is compiled into main.o only; this stamp changes when HEAD does, so a binary
# never reports the revision of an older build.
REV_STAMP := build/revision
$(shell mkdir -p build && (echo '$(GIT_REV)' | cmp -s - $(REV_STAMP) || echo '$(GIT_REV)' > $(REV_STAMP)))

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CSTD    := -std=c11 -D_GNU_SOURCE
DEFS    := -DSTRATA_VERSION='"$(VERSION)"' -DSTRATA_REVISION='"$(GIT_REV)"'
INC     := -Isrc -Ibuild/gen
LIBS    := -lmicrohttpd -largon2 -ljansson -lzstd -llz4 -lsnappy -lz -lbz2 -llzma -lbrotlienc -lbrotlidec \
           -lxxhash -lpcre2-8 -lprotobuf-c -lcrypto -lroaring -ldouble-conversion -lgeos_c -lstdc++ -lpthread -lm

REL_CFLAGS  := $(CSTD) $(WARN) $(DEFS) $(INC) -O2 -g -MMD -MP
# C++ only where a library is C++ (src/format/fmt_dtoa.cc over libdouble-conversion)
CXXSTD      := -std=c++17 -fno-exceptions -fno-rtti
CXXWARN     := -Wall -Wextra -Werror -Wshadow
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_CFLAGS  := $(CSTD) $(WARN) $(DEFS) $(INC) -O1 -g -MMD -MP $(SAN_FLAGS)

LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*/*.c))
LIB_CXX   := $(wildcard src/*/*.cc)
# Protocol buffers (Prometheus' remote storage): protoc-c makes C from src/<module>/*.proto into
# build/gen/<module>/*.pb-c.{c,h}, compiled with the module's own objects.
PROTO_SRC := $(wildcard src/*/*.proto)
GEN_C     := $(patsubst src/%.proto,build/gen/%.pb-c.c,$(PROTO_SRC))
GEN_H     := $(GEN_C:.c=.h)
REL_OBJ   := $(patsubst src/%.c,build/rel/%.o,$(LIB_SRC)) $(patsubst src/%.cc,build/rel/%.o,$(LIB_CXX)) \
             $(patsubst build/gen/%.c,build/rel/gen/%.o,$(GEN_C))
SAN_OBJ   := $(patsubst src/%.c,build/san/%.o,$(LIB_SRC)) $(patsubst src/%.cc,build/san/%.o,$(LIB_CXX)) \
             $(patsubst build/gen/%.c,build/san/gen/%.o,$(GEN_C))
TSAN_OBJ  := $(patsubst src/%.c,build/tsano/%.o,$(LIB_SRC) src/main.c) \
             $(patsubst src/%.cc,build/tsano/%.o,$(LIB_CXX)) \
             $(patsubst build/gen/%.c,build/tsano/gen/%.o,$(GEN_C))
TSAN_CFLAGS := $(CSTD) $(WARN) $(DEFS) $(INC) -O1 -g -MMD -MP -fsanitize=thread
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC))

PYTEST  := /usr/bin/python3 -m pytest

.PHONY: all run test unit sqltest httptest bench asan tsan fuzz fuzz-sql fuzz-ts clean format deps

all: build/strata

deps:
	./scripts/install-deps.sh

build/strata: build/rel/main.o $(REL_OBJ)
	$(CC) -o $@ $^ $(LIBS)

build/asan/strata: build/san/main.o $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

build/tsan/strata: $(TSAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=thread -o $@ $^ $(LIBS)

build/rel/main.o build/san/main.o build/tsano/main.o: $(REV_STAMP)

# Generated headers exist before anything compiles (which source includes one is not known
# before its first compilation has written its .d file).
$(REL_OBJ) $(SAN_OBJ) $(TSAN_OBJ) build/rel/main.o build/san/main.o: | $(GEN_H)

build/gen/%.pb-c.c build/gen/%.pb-c.h: src/%.proto
	@mkdir -p build/gen
	@echo "PROTOC  $<"
	@protoc-c --proto_path=src --c_out=build/gen $<

build/rel/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@echo "CC      $<"
	@$(CC) $(REL_CFLAGS) -c -o $@ $<

build/san/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@echo "CC asan $<"
	@$(CC) $(SAN_CFLAGS) -c -o $@ $<

build/tsano/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@echo "CC tsan $<"
	@$(CC) $(TSAN_CFLAGS) -c -o $@ $<

build/tsano/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC tsan $<"
	@$(CC) $(TSAN_CFLAGS) -c -o $@ $<

build/rel/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC      $<"
	@$(CC) $(REL_CFLAGS) -c -o $@ $<

build/rel/%.o: src/%.cc
	@mkdir -p $(dir $@)
	@echo "CXX     $<"
	@$(CXX) $(CXXSTD) $(CXXWARN) $(INC) -O2 -g -MMD -MP -c -o $@ $<

build/san/%.o: src/%.cc
	@mkdir -p $(dir $@)
	@echo "CXX asan $<"
	@$(CXX) $(CXXSTD) $(CXXWARN) $(INC) -O1 -g -MMD -MP $(SAN_FLAGS) -c -o $@ $<

build/tsano/%.o: src/%.cc
	@mkdir -p $(dir $@)
	@echo "CXX tsan $<"
	@$(CXX) $(CXXSTD) $(CXXWARN) $(INC) -O1 -g -MMD -MP -fsanitize=thread -c -o $@ $<

build/san/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "CC asan $<"
	@$(CC) $(SAN_CFLAGS) -c -o $@ $<

build/unit/%: tests/unit/%.c $(SAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "CC test $<"
	@$(CC) $(SAN_CFLAGS) -Itests/unit -o $@ $< $(SAN_OBJ) $(LIBS) -lcmocka

build/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $< $(LIBS)

run: deps
	$(MAKE) build/strata
	./build/strata --data ./data

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

sqltest: build/strata
	/usr/bin/python3 tests/sql/run_slt.py --binary build/strata tests/sql

httptest: build/strata
	STRATA_BIN=$(CURDIR)/build/strata $(PYTEST) -q tests/http

# The benchmark programs are built (not run) too, so a change that breaks `make bench` fails here.
test: deps
	$(MAKE) unit sqltest httptest $(BENCH_BIN)

asan: build/asan/strata

tsan: build/tsan/strata

bench: build/strata $(BENCH_BIN)
	./bench/run.sh

fuzz:
	$(MAKE) -C tests/fuzz

FUZZ_SECONDS ?= 60
fuzz-ts: build/asan/strata
	/usr/bin/python3 tests/fuzz/ts_fuzz.py --binary build/asan/strata --seconds $(FUZZ_SECONDS) \
	  $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

fuzz-sql: build/asan/strata
	/usr/bin/python3 tests/fuzz/sql_fuzz.py --binary build/asan/strata --seconds $(FUZZ_SECONDS) \
	  $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) $(if $(FUZZ_FINDINGS),--findings $(FUZZ_FINDINGS))

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h src/*.c tests/unit/*.c tests/unit/*.h bench/*.c)

clean:
	rm -rf build

-include $(wildcard build/rel/*/*.d build/rel/*.d build/san/*/*.d build/san/*.d build/tsano/*/*.d build/tsano/*.d \
  build/bench/*.d build/*/gen/*/*.d)
