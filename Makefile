# territory: PGXS build.  Targets: all, install, installcheck, test (PG=...), bench, demo, fuzz.
EXTENSION    = territory
EXTVERSION   = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" territory.control)
MODULE_big   = territory
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql
# Released install scripts (frozen, never edited) and the upgrade scripts between versions.
RELEASED     = $(sort $(wildcard src/sql/released/$(EXTENSION)--*.sql))
DATA         = $(RELEASED) $(wildcard src/sql/upgrade/$(EXTENSION)--*--*.sql)

# The install script is the SQL sources in src/sql, by kind, in file-name order.
SQL_SOURCES  = $(sort $(wildcard src/sql/*.sql))

# pg_regress: one file per feature area in test/regress/sql, expected output beside it.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --outputdir=results_regress
# Isolation specs: test/specs/*.spec, expected in test/expected.
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=results_iso

PG_CONFIG   ?= pg_config
# src/remote.c: a worker's connection to the coordinator of a Citus cluster
PG_CPPFLAGS  = -I$(libpq_srcdir)
SHLIB_LINK_INTERNAL = $(libpq)
PG_CFLAGS   += -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
EXTRA_CLEAN  = results_regress results_iso results_bench results_bench.log results_sqlsmith results_deb results_valgrind \
               regression.diffs regression.out bench/results/*.tmp

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The version in development is built from src/sql; a released one is only ever the frozen file.
ifneq ($(filter src/sql/released/$(DATA_built),$(RELEASED)),)
$(error $(EXTVERSION) is released (src/sql/released/$(DATA_built)): raise default_version in territory.control)
endif

# Every object depends on every header (PGXS tracks none): a struct changed in a header must not
# leave objects compiled against its old layout.
$(OBJS): $(wildcard src/*.h)

$(DATA_built): $(SQL_SOURCES) territory.control
	cat $(SQL_SOURCES) > $@

.PHONY: deps prove upgradecheck test bench demo fuzz format

# Install what building and testing need (Debian; a no-op when everything is there).
deps:
	scripts/install-deps

# pgTAP suites, against the server in PGHOST/PGPORT.
prove:
	scripts/run-pgtap test/pgtap

# Upgrade equivalence: every released version plus ALTER EXTENSION UPDATE equals a fresh install,
# against the server in PGHOST/PGPORT.
upgradecheck:
	test/upgrade/run

# Everything: dependencies, build, install, then every suite and the benchmarks at size S (to see
# that they work; their tables go to results_bench/) on a throw-away PostgreSQL 15 server, and the
# regression, isolation, pgTAP, upgrade, cross-version dump and package checks on PostgreSQL 17
# and 18 in Debian chroots (scripts/run-matrix).  PG=17 (or PG="15 18", ...) tests those majors only.
PG ?= 15 17 18
test:
	scripts/install-deps
	$(MAKE) all
	$(MAKE) install
	scripts/run-matrix $(PG)

SIZE ?= M
bench:
	scripts/install-deps
	$(MAKE) all
	$(MAKE) install
	scripts/with-server bench/run $(SIZE)

demo:
	scripts/install-deps
	$(MAKE) all
	$(MAKE) install
	scripts/with-server demo/run

# libFuzzer (clang) on the parsers that build without the server, bounded by FUZZ_RUNS per target.
fuzz:
	scripts/run-fuzz

format:
	clang-format -i src/*.c src/*.h
