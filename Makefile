# authd — build, run, test, bench. The README's two commands are `make run` and `make test`.
# Sources are picked up by folder: a new file in lib/, authd/, authd/http/, authd/oidc/,
# authd/web/, authd/authctl/ or modules/ needs no Makefile change; a new unit test is
# tests/unit/test_NAME.c.

# ---- packages first ---------------------------------------------------------------------
# On a fresh Debian 12 the libraries pkg-config is asked about are not installed yet, so
# no flag may be computed by the make that installs them. `make GOALS` therefore runs in
# two steps: this block installs what GOALS need (scripts/deps.sh), then makes GOALS in
# one sub-make with AUTHD_INNER=1, which reads every flag after the install. Everything
# after this block is that sub-make's (nested $(MAKE) calls inherit AUTHD_INNER).
# tests/integration/make.test.sh checks that no goal compiles before its packages.
ifndef AUTHD_INNER

# The scripts/deps.sh groups the goals need: `build` for every goal but those in
# DEPS_NOBUILD, `run` for those in DEPS_RUN, `test` for those in DEPS_TEST (a new target
# that runs test tools joins it), `fresh` for test-fresh.
DEPS_NOBUILD := clean test-fresh
DEPS_RUN     := run deps
DEPS_TEST    := test test-long test-integration test-integration-asan test-pam crash slow \
	soak bench client-man-check deps-test
GOALS        := $(or $(MAKECMDGOALS),all)
DEPS_GROUPS  := $(strip $(if $(filter-out $(DEPS_NOBUILD),$(GOALS)),build) \
	$(if $(filter $(DEPS_RUN),$(GOALS)),run) $(if $(filter $(DEPS_TEST),$(GOALS)),test) \
	$(if $(filter test-fresh,$(GOALS)),fresh))

.PHONY: $(GOALS) packages-then-goals
$(GOALS): packages-then-goals
	@:
packages-then-goals:
	$(if $(DEPS_GROUPS),@sh scripts/deps.sh $(DEPS_GROUPS))
	@$(MAKE) --no-print-directory AUTHD_INNER=1 $(MAKECMDGOALS)

else # ---- the sub-make: packages are installed ----------------------------------------

CC      ?= gcc
BUILD   ?= build
SAN     ?=
PREFIX  ?= /usr/local
DATADIR ?= $(PREFIX)/share/authd
# What authd ships under share/ (docs aside); installed to DATADIR, found by authd/datafile.c.
SHARE_FILES := $(filter-out share/README.md,$(shell find share -type f 2>/dev/null))
PKGS    := openssl libevent libevent_openssl libevent_pthreads jansson lmdb libsodium inih libcurl liboath libqrencode libfido2 libcbor libpq

CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-unused-parameter -g -fPIC -fstack-protector-strong -pthread \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) -DAUTHD_DATADIR='"$(DATADIR)"'
ifeq ($(SAN),1)
  CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS_SAN := -fsanitize=address,undefined
else
  CFLAGS_OPT := -O2 -D_FORTIFY_SOURCE=2
  LDFLAGS_SAN :=
endif
CFLAGS  += $(CFLAGS_COMMON) $(CFLAGS_OPT)
LDFLAGS += $(LDFLAGS_SAN) -pthread -Wl,-z,relro,-z,now
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

LIB_SRC   := $(wildcard lib/*.c)
CORE_SRC  := $(filter-out authd/main.c,$(wildcard authd/*.c authd/http/*.c authd/oidc/*.c authd/web/*.c modules/*.c))
AUTHCTL_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard authd/authctl/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-test run test unit test-unit test-asan test-integration bench fuzz clean install \
	test-fresh format-check FORCE
all: $(BUILD)/bin/authd $(BUILD)/bin/authctl

# The packages came first (the block at the top); these only name the groups.
deps deps-test:
	@:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The installed data folder is compiled into datafile.o: a new DATADIR (or PREFIX)
# rewrites the stamp, and the stamp rebuilds the object.
$(BUILD)/authd/datafile.o: $(BUILD)/datadir.stamp
$(BUILD)/datadir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@

# Archives are made anew (rm -f): `ar r` keeps members of files that no longer
# exist (authd/http.c after its split), and the linker may take the stale one.
$(BUILD)/libauthd-internal.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libauthd-core.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/authd: $(BUILD)/authd/main.o $(BUILD)/libauthd-core.a $(BUILD)/libauthd-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/authctl: $(AUTHCTL_OBJ) $(BUILD)/libauthd-core.a $(BUILD)/libauthd-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# -MMD: a test rebuilds when a header it includes (tests/unit/fixture.h) changes.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libauthd-core.a $(BUILD)/libauthd-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d -o $@ $^ $(LDFLAGS) $(LIBS) $(shell pkg-config --libs cmocka)

# The independent verifier: Debian's libjwt checks our tokens in the integration suite.
$(BUILD)/tests/libjwt-verify: tests/integration/libjwt-verify.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-deprecated-declarations -o $@ $< $(LDFLAGS) $(shell pkg-config --libs libjwt jansson openssl)

unit: $(UNIT_BIN)

run: all
	@sh scripts/dev-run.sh $(BUILD)/bin

test-unit: unit
	@sh tests/run-unit.sh $(BUILD)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 unit
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		sh tests/run-unit.sh build-asan

test-integration: all $(BUILD)/tests/libjwt-verify
	@sh tests/integration/run.sh $(BUILD)

# make test: everything, from a fresh machine. Prints cmocka/TAP lines per suite and one
# final "N passed, N failed" line.
test: all unit $(BUILD)/tests/libjwt-verify
	@sh tests/run-all.sh $(BUILD)

# The README's two commands in a fresh Debian 12 root (debootstrap), as root; see
# scripts/test-fresh.sh. Not part of make test: it installs every package anew.
test-fresh:
	@sh scripts/test-fresh.sh

bench: all
	@sh tests/bench/run.sh $(BUILD)

# The C lines a change adds follow .clang-format (moved code and old lines are
# left alone; see .clang-format). FORMAT_BASE: what the change is against.
FORMAT_BASE ?= main
format-check:
	@sh scripts/format-check.sh $(FORMAT_BASE)

# share/: the password list and the pages (templates, catalogues, static
# files), found by authd/datafile.c when the config names no folder.
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(DATADIR)
	install -m 0755 $(BUILD)/bin/authd $(BUILD)/bin/authctl $(DESTDIR)$(PREFIX)/sbin/
	@for f in $(SHARE_FILES:share/%=%); do \
		echo "install -D -m 0644 share/$$f $(DESTDIR)$(DATADIR)/$$f"; \
		install -D -m 0644 share/$$f $(DESTDIR)$(DATADIR)/$$f || exit 1; \
	done

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- libauthd-client (client/): shared library with a versioned soname, static
# archive for the unit tests, pkg-config file, man pages, example app. The .so
# carries the lib/ objects it needs; a version script exports only authd_*.
CLIENT_SRC     := $(wildcard client/src/*.c)
CLIENT_OBJ     := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
CLIENT_LIBOBJ  := $(BUILD)/lib/jose.o $(BUILD)/lib/b64.o $(BUILD)/lib/util.o $(BUILD)/lib/buf.o
CLIENT_PKGS    := openssl jansson libcurl
CLIENT_SONAME  := libauthd-client.so.1
CLIENT_VERSION := 1.0.0
CLIENT_SO      := $(BUILD)/client/libauthd-client.so.$(CLIENT_VERSION)
CLIENT_MAN     := $(wildcard client/man/*.3)
CLIENT_TESTS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_client*.c))

.PHONY: client examples client-man-check install-client
client: $(CLIENT_SO) $(BUILD)/client/authd-client.pc $(BUILD)/client/libauthd-client.a

$(CLIENT_OBJ): CFLAGS += -Iclient/include -fvisibility=hidden -DAUTHD_CLIENT_BUILD

$(BUILD)/client/libauthd-client.a: $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLIENT_SO): $(CLIENT_OBJ) $(CLIENT_LIBOBJ) client/libauthd-client.map
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) $(if $(SAN),,-Wl,--no-undefined) -Wl,-soname,$(CLIENT_SONAME) \
		-Wl,--version-script=client/libauthd-client.map -o $@ $(CLIENT_OBJ) $(CLIENT_LIBOBJ) \
		$(shell pkg-config --libs $(CLIENT_PKGS)) -pthread
	ln -sf libauthd-client.so.$(CLIENT_VERSION) $(BUILD)/client/$(CLIENT_SONAME)
	ln -sf $(CLIENT_SONAME) $(BUILD)/client/libauthd-client.so

$(BUILD)/client/authd-client.pc: client/authd-client.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(CLIENT_VERSION)|g' $< > $@

# Client unit tests also link the client archive (not part of libauthd-core.a).
$(CLIENT_TESTS): $(BUILD)/tests/%: tests/unit/%.c $(BUILD)/client/libauthd-client.a $(BUILD)/libauthd-core.a $(BUILD)/libauthd-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iclient/include -o $@ $^ $(LDFLAGS) $(LIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/client-verify: tests/bench/client-verify.c $(BUILD)/client/libauthd-client.a $(BUILD)/libauthd-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iclient/include -o $@ $^ $(LDFLAGS) $(LIBS)

# Store-bound jobs under an Argon2id flood, one pool class vs two (make bench).
$(BUILD)/tests/work-classes: tests/bench/work-classes.c $(BUILD)/libauthd-core.a $(BUILD)/libauthd-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LIBS)

$(BUILD)/examples/protect-page: examples/protect-page.c $(CLIENT_SO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iclient/include -o $@ $< $(LDFLAGS) -L$(BUILD)/client -lauthd-client \
		-Wl,-rpath,'$$ORIGIN/../client' $(shell pkg-config --libs libevent)

examples: $(BUILD)/examples/protect-page

client-man-check:
	@for m in $(CLIENT_MAN); do \
		out=$$(groff -man -ww -z $$m 2>&1); [ -z "$$out" ] || { echo "$$m: $$out"; exit 1; }; \
	done; echo "man pages: $(words $(CLIENT_MAN)) checked"

install: install-client
install-client: client
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/authd \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 0755 $(CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libauthd-client.so.$(CLIENT_VERSION) $(DESTDIR)$(PREFIX)/lib/$(CLIENT_SONAME)
	ln -sf $(CLIENT_SONAME) $(DESTDIR)$(PREFIX)/lib/libauthd-client.so
	install -m 0644 client/include/authd/client.h $(DESTDIR)$(PREFIX)/include/authd/
	install -m 0644 $(BUILD)/client/authd-client.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 0644 $(CLIENT_MAN) $(DESTDIR)$(PREFIX)/share/man/man3/

# ---- pam_authd.so (pam/): built on libauthd-client, linked in statically so the
# module needs no rpath; a version script exports only pam_sm_*, and -z nodelete
# keeps it mapped after pam_end so libcurl/OpenSSL never call back into unmapped
# code. The PAM tests (tests/pam/) use pam_wrapper + libpamtest.
PAM_SO       := $(BUILD)/pam/pam_authd.so
PAM_PKGS     := openssl jansson libcurl inih
PAM_TEST_BIN := $(BUILD)/tests/pam/test_pam $(BUILD)/tests/pam/bench_pam

.PHONY: pam test-pam
pam: $(PAM_SO) $(PAM_TEST_BIN)

$(BUILD)/pam/pam_authd.o: CFLAGS += -Iclient/include

$(PAM_SO): $(BUILD)/pam/pam_authd.o $(BUILD)/client/libauthd-client.a $(CLIENT_LIBOBJ) pam/pam_authd.map
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) $(if $(SAN),,-Wl,--no-undefined) -Wl,-z,nodelete \
		-Wl,--version-script=pam/pam_authd.map -o $@ $(BUILD)/pam/pam_authd.o \
		$(BUILD)/client/libauthd-client.a $(CLIENT_LIBOBJ) \
		$(shell pkg-config --libs $(PAM_PKGS)) -lpam -pthread

$(BUILD)/tests/pam/%: tests/pam/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs libpamtest cmocka) -lpam

test-pam: all pam
	@sh tests/pam/run.sh $(BUILD)

$(BUILD)/examples/authd-cli: examples/authd-cli.c $(CLIENT_SO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iclient/include -o $@ $< $(LDFLAGS) -L$(BUILD)/client -lauthd-client \
		-Wl,-rpath,'$$ORIGIN/../client' $(shell pkg-config --libs libcrypto)

examples: $(BUILD)/examples/authd-cli

# ---- proving it holds (issue 7): fuzzing, sanitizers over the integration
# suite, crash safety, load. Every tests/fuzz/fuzz_NAME.c is a libFuzzer target
# built with clang into build-fuzz/ against clang-built copies of lib/, authd/
# and modules/ (the gcc objects carry no fuzzer instrumentation).
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(CORE_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
# Warnings stay on but do not fail the fuzz build: clang warns about things gcc
# does not, and the gcc builds are the ones held to -Werror.
FUZZ_CFLAGS  := $(CFLAGS_COMMON) -Wno-error -O1 -fno-omit-frame-pointer -gline-tables-only \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-smoke fuzz-regress test-integration-asan crash soak slow test-long
fuzz: $(FUZZ_BIN)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libauthd-fuzz.a: $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libauthd-fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ilib -Iauthd -Imodules -fsanitize=fuzzer -o $@ $^ \
		-pthread $(LIBS)

# Each target for FUZZ_SECONDS (60) from its committed seeds; new inputs go to
# build-fuzz/corpus/NAME, crashes to build-fuzz/artifacts/. A 10-minute run:
# make fuzz-smoke FUZZ_SECONDS=600
fuzz-smoke: fuzz
	@sh tests/fuzz/run.sh smoke $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Replays every committed seed (including each crash's regression seed) once.
fuzz-regress: fuzz
	@sh tests/fuzz/run.sh regress 0 $(FUZZ_NAMES)

# The whole integration suite against an ASan+UBSan daemon, authctl and libjwt
# verifier. LeakSanitizer is on: the daemon goes through every login flow of the
# suite, and the suite's last check stops it with SIGTERM and requires exit 0,
# which LeakSanitizer turns into 23 on any leak. Reports go to
# build-asan/sanitizer/ (not the daemon's JSON log); any file there fails the run.
# SAN=1 in the environment: tests that build more (client.test.sh) build it sanitized.
SAN_LOGS := $(CURDIR)/build-asan/sanitizer
test-integration-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 build-asan/bin/authd \
		build-asan/bin/authctl build-asan/tests/libjwt-verify
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@ASAN_OPTIONS=detect_leaks=1:exitcode=23:log_path=$(SAN_LOGS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOGS)/ubsan SAN=1 \
		sh tests/integration/run.sh build-asan; rc=$$?; \
	for f in $(SAN_LOGS)/*; do [ -f "$$f" ] || continue; rc=1; \
		echo "# sanitizer report $$f:"; head -n 40 "$$f" | sed 's/^/#   /'; done; \
	[ $$rc -eq 0 ] && echo "integration under ASan+UBSan: no sanitizer report, no leak"; exit $$rc

# SIGKILL at random points under concurrent logins and grants; nothing
# acknowledged may be lost (tests/crash/run.sh).
crash: all
	@sh tests/crash/run.sh $(BUILD)

# Slow and idle clients must not starve others (fast; part of make test).
slow: all
	@sh tests/soak/slow.sh $(BUILD)

# Bounded soak at 70% of the measured maximum: SOAK_SECONDS (600).
SOAK_SECONDS ?= 600
soak: all
	@sh tests/soak/run.sh $(BUILD) $(SOAK_SECONDS)

# make test plus the long parts (fuzz-smoke, soak).
test-long:
	@$(MAKE) --no-print-directory test LONG=1

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

endif # AUTHD_INNER
