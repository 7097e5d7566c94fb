# A/B testing at the edge: the nginx module and the abstat log processor.
#
#   make          build build/ngx_http_ab_module.so, build/abstat, unit tests
#   make test     install dependencies, build, run every test under prove,
#                 then the version matrix (make test-matrix)
#   make test-matrix  the module suite against nginx 1.22.1 to 1.31.4
#                 (scripts/build-matrix, scripts/test-matrix; MATRIX=lanes)
#   make demo     install its packages only, build, run the demo end to end
#   make reference  regenerate abstat's expected reports (needs scipy)
#   make asan     build/asan/abstat and build/asan/unit/* with ASan+UBSan
#   make install  abstat, its man page and examples, the module and its
#                 log format (PREFIX, DESTDIR, NGINX_MODULES_DIR, ...)
#   make uninstall  removes exactly what make install installed
#   make deb      build/deb/*.deb: libnginx-mod-http-ab and abstat

BUILD      := build
CC         ?= cc
CFLAGS     ?= -O2 -g
AB_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
              -Ingx_ab_module -Iabstat
LDLIBS     := -lcjson -lz -lxxhash -lm -lpthread

CORE_SRC   := ngx_ab_module/ab_core.c ngx_ab_module/ab_rand.c ngx_ab_module/ab_event.c \
              ngx_ab_module/ab_dist.c ngx_ab_module/ab_sticky.c
CORE_HDR   := ngx_ab_module/ab_core.h ngx_ab_module/ab_rand.h ngx_ab_module/ab_event.h \
              ngx_ab_module/ab_dist.h ngx_ab_module/ab_sticky.h
ABSTAT_MAIN := $(wildcard abstat/main.c)
ABSTAT_LIB := $(filter-out abstat/main.c,$(wildcard abstat/*.c))
ABSTAT_HDR := $(wildcard abstat/*.h)
UNIT_SRC   := $(wildcard t/unit/test_*.c)
UNIT_BIN   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
MODULE_DEP := config $(wildcard ngx_ab_module/*.c ngx_ab_module/*.h)

PROGRAMS   := $(BUILD)/ngx_http_ab_module.so
ifneq ($(ABSTAT_MAIN),)
PROGRAMS   += $(BUILD)/abstat
endif

.PHONY: all module unit test test-matrix demo reference clean deps asan install uninstall deb

all: $(PROGRAMS) unit

module: $(BUILD)/ngx_http_ab_module.so

unit: $(UNIT_BIN)

$(BUILD)/ngx_http_ab_module.so: $(MODULE_DEP) scripts/build-module
	scripts/build-module $(BUILD)

$(BUILD)/abstat: $(ABSTAT_MAIN) $(ABSTAT_LIB) $(ABSTAT_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(AB_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(ABSTAT_MAIN) $(ABSTAT_LIB) \
	    $(CORE_SRC) $(LDLIBS)

$(BUILD)/unit/%: t/unit/%.c t/unit/tap.h $(ABSTAT_LIB) $(ABSTAT_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BUILD)/unit
	$(CC) $(AB_CFLAGS) $(CFLAGS) -It/unit -o $@ $< $(ABSTAT_LIB) $(CORE_SRC) $(LDLIBS)

# The sanitizer lane (t/asan.t): every report is fatal.
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_UNIT  := $(patsubst t/unit/%.c,$(BUILD)/asan/unit/%,$(UNIT_SRC))

asan: $(BUILD)/asan/abstat $(ASAN_UNIT) $(BUILD)/tsan/abstat

# abstat's reading threads under ThreadSanitizer (t/asan.t)
$(BUILD)/tsan/abstat: $(ABSTAT_MAIN) $(ABSTAT_LIB) $(ABSTAT_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BUILD)/tsan
	$(CC) $(AB_CFLAGS) -O1 -g -fsanitize=thread -o $@ $(ABSTAT_MAIN) $(ABSTAT_LIB) $(CORE_SRC) $(LDLIBS)

$(BUILD)/asan/abstat: $(ABSTAT_MAIN) $(ABSTAT_LIB) $(ABSTAT_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BUILD)/asan
	$(CC) $(AB_CFLAGS) $(ASAN_CFLAGS) -o $@ $(ABSTAT_MAIN) $(ABSTAT_LIB) $(CORE_SRC) $(LDLIBS)

$(BUILD)/asan/unit/%: t/unit/%.c t/unit/tap.h $(ABSTAT_LIB) $(ABSTAT_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BUILD)/asan/unit
	$(CC) $(AB_CFLAGS) $(ASAN_CFLAGS) -It/unit -o $@ $< $(ABSTAT_LIB) $(CORE_SRC) $(LDLIBS)

# make deps FOR=demo|test|bench: only what that needs (default: everything)
deps:
	scripts/install-deps --for $(or $(FOR),all)

test: deps
	$(MAKE) all
	prove -r t/
	$(MAKE) test-matrix

# MATRIX: lanes such as "1.30.4-static 1.26.3" (default: all eight; the
# README's "nginx versions" says how long they take)
test-matrix: all
	scripts/test-matrix $(MATRIX)

demo:
	scripts/install-deps --for demo
	$(MAKE) all
	scripts/demo

reference:
	scripts/abstat-reference

clean:
	rm -rf $(BUILD)

# Outside the tree: dpkg-buildpackage runs on a copy (scripts/build-deb).
deb:
	scripts/build-deb $(BUILD)/deb

# GNU conventions for abstat; the module and its log format go where
# Debian's nginx looks, whatever PREFIX is: nginx's --modules-path, and
# the directory the README's `include /etc/nginx/ab/log-format.conf` names.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/abstat
NGINX_MODULES_DIR ?= /usr/lib/nginx/modules
NGINX_CONFDIR     ?= /etc/nginx
INSTALL    ?= install

# The examples run abstat as /usr/local/bin/abstat; the installed copies
# name the BINDIR it was installed to.
EXAMPLES   := abstat.cron abstat.service abstat.timer abstat.logrotate \
              prometheus-alerts.yml grafana-dashboard.json
EXAMPLE_OUT := $(addprefix $(BUILD)/examples/,$(EXAMPLES))

$(BUILD)/examples/%: conf-examples/% Makefile
	@mkdir -p $(BUILD)/examples
	sed 's|/usr/local/bin/abstat|$(BINDIR)/abstat|g' $< >$@

install: $(PROGRAMS) $(EXAMPLE_OUT)
	$(INSTALL) -D -m 755 $(BUILD)/abstat $(DESTDIR)$(BINDIR)/abstat
	$(INSTALL) -D -m 644 abstat/abstat.1 $(DESTDIR)$(MANDIR)/man1/abstat.1
	$(INSTALL) -D -m 644 $(BUILD)/ngx_http_ab_module.so \
	    $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_ab_module.so
	$(INSTALL) -D -m 644 conf-examples/log-format.conf \
	    $(DESTDIR)$(NGINX_CONFDIR)/ab/log-format.conf
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 644 $(EXAMPLE_OUT) $(DESTDIR)$(DOCDIR)/examples/

# Directories are removed only when they are ours and empty: a file an
# administrator added beside log-format.conf stays.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/abstat $(DESTDIR)$(MANDIR)/man1/abstat.1 \
	    $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_ab_module.so \
	    $(DESTDIR)$(NGINX_CONFDIR)/ab/log-format.conf \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(EXAMPLES))
	for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) \
	         $(DESTDIR)$(NGINX_CONFDIR)/ab; do \
	    [ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d"; done
