# SPDX-License-Identifier: MIT
# portgate: one entry point. `make` builds everything into build/ (build-asan/ with SAN=1).
#   make run      install deps, build, run portgated in the foreground (root)
#   make test     install deps, build, run every test; ends with "N passed, N failed"
#   make asan     build with ASan+UBSan into build-asan/  (make test SAN=1 runs the suite on it)
#   make bench    benchmarks, figures for docs/benchmarks.md
#   make fuzz     libFuzzer harnesses for the parsers, bounded time
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

CC       ?= cc
V        ?= 0
SAN      ?= 0
Q        := $(if $(filter 1,$(V)),,@)

ifeq ($(SAN),1)
BUILD    := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD    := build
SANFLAGS :=
endif

PKGS     := hiredis libcrypto jansson inih libsystemd libmnl libnftnl libbpf cmocka libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	    -Wformat=2 -D_GNU_SOURCE -fstack-protector-strong \
	    -Iinclude -Iuserspace/lib -I$(BUILD)/gen $(PKG_CFLAGS) $(SANFLAGS)
LDFLAGS  += $(SANFLAGS) -Wl,--as-needed
LDLIBS   := $(PKG_LIBS) -lpthread

LIB_SRC  := $(wildcard userspace/lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/lua_scripts.o
LUA_SRC  := $(sort $(wildcard userspace/lib/lua/*.lua))
LIBPG    := $(BUILD)/libportgate.a

# BPF: CO-RE objects built with clang against the running kernel's BTF, then a bpftool
# skeleton per object (build/gen/NAME.skel.h) that the userspace loader includes.
BPF_SRC  := $(wildcard bpf/*.bpf.c)
BPF_OBJ  := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKEL := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/gen/%.skel.h)
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

$(BUILD)/gen/vmlinux.h:
	$(Q)mkdir -p $(@D)
	$(if $(Q),@echo "  BTF     $@")
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/gen/vmlinux.h $(wildcard include/portgate/*.h bpf/*.h)
	$(Q)mkdir -p $(@D)
	$(if $(Q),@echo "  BPF     $<")
	$(Q)clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I$(BUILD)/gen -Iinclude -Ibpf \
		-c $< -o $@

$(BUILD)/gen/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(if $(Q),@echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

PROGS    := portgated portgate portgate-proxy
PROG_BIN := $(PROGS:%=$(BUILD)/%)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/integration/*.c scripts/bench/*.c)
TOOL_BIN := $(patsubst %.c,$(BUILD)/tools/%,$(notdir $(TOOL_SRC)))

.PHONY: all asan run test bench fuzz clean format format-check deps install
all: $(PROG_BIN) $(UNIT_BIN) $(TOOL_BIN)

deps:
	$(Q)scripts/as-root.sh scripts/deps.sh

asan:
	$(Q)$(MAKE) --no-print-directory SAN=1 all

$(BUILD)/%.o: %.c | $(BPF_SKEL)
	$(Q)mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/lua_scripts.c: scripts/embed-lua.sh $(LUA_SRC)
	$(Q)mkdir -p $(@D)
	$(Q)scripts/embed-lua.sh $(LUA_SRC) > $@

$(BUILD)/gen/lua_scripts.o: $(BUILD)/gen/lua_scripts.c
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBPG): $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

# Each program is userspace/NAME/*.c linked with the shared library.
define program_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard userspace/$(1)/*.c)) $(LIBPG)
	$$(if $$(Q),@echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(LIBPG) $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call program_rule,$(p))))

# Unit tests link the program objects they exercise too (all but main.o).
APP_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out %/main.c,$(wildcard userspace/portgated/*.c userspace/portgate/*.c)))
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBPG) $(APP_OBJ)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(APP_OBJ) $(LIBPG) $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/tests/integration/%.o $(LIBPG)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tools/%: $(BUILD)/scripts/bench/%.o $(LIBPG)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/as-root.sh scripts/run.sh $(ARGS)

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/as-root.sh env SAN=$(SAN) BUILD=$(BUILD) tests/run.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/as-root.sh env BUILD=$(BUILD) scripts/bench/run.sh

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TIME ?= 60
fuzz: deps
	$(Q)mkdir -p build-fuzz
	$(Q)for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); \
		clang -g -O1 -D_GNU_SOURCE -Iinclude -Iuserspace/lib $(PKG_CFLAGS) \
		  -fsanitize=fuzzer,address,undefined $$f $$(sed -n 's/^\/\/ fuzz-sources: //p' $$f) \
		  -o build-fuzz/$$n $(PKG_LIBS) || exit 1; \
		mkdir -p build-fuzz/corpus-$$n; \
		build-fuzz/$$n -max_total_time=$(FUZZ_TIME) -max_len=20000 \
		  build-fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | tail -n 3 || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
