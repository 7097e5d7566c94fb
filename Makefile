# A/B testing at the edge: the nginx module and the abstat log processor.
#
#   make          build build/ngx_http_ab_module.so, build/abstat, unit tests
#   make test     install dependencies, build, run every test under prove
#   make demo     install its packages only, build, run the demo end to end
#   make reference  regenerate abstat's expected reports (needs scipy)
#   make asan     build/asan/abstat and build/asan/unit/* with ASan+UBSan

BUILD      := build
CC         ?= cc
CFLAGS     ?= -O2 -g
AB_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
              -Ingx_ab_module -Iabstat
LDLIBS     := -lcjson -lz -lxxhash -lm -lpthread

CORE_SRC   := ngx_ab_module/ab_core.c ngx_ab_module/ab_rand.c ngx_ab_module/ab_event.c \
              ngx_ab_module/ab_dist.c
CORE_HDR   := ngx_ab_module/ab_core.h ngx_ab_module/ab_rand.h ngx_ab_module/ab_event.h \
              ngx_ab_module/ab_dist.h
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

.PHONY: all module unit test demo reference clean deps asan

all: $(PROGRAMS) unit

module: $(BUILD)/ngx_http_ab_module.so

unit: $(UNIT_BIN)

$(BUILD)/ngx_http_ab_module.so: $(MODULE_DEP) scripts/build-module
	scripts/build-module $(BUILD)

$(BUILD)/abstat: $(ABSTAT_MAIN) $(ABSTAT_LIB) $(ABSTAT_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BUILD)
	$(CC) $(AB_CFLAGS) $(CFLAGS) -o $@ $(ABSTAT_MAIN) $(ABSTAT_LIB) $(CORE_SRC) $(LDLIBS)

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

demo:
	scripts/install-deps --for demo
	$(MAKE) all
	scripts/demo

reference:
	scripts/abstat-reference

clean:
	rm -rf $(BUILD)
