# vessel — `make` builds build/vessel; `make test` and `make demo` install
# what is missing first (scripts/setup.sh), then run.
CC      ?= gcc
BUILD   ?= build
SAN     ?= 0
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -g -Isrc -D_GNU_SOURCE \
                 -fno-strict-aliasing -Wno-missing-field-initializers
ifeq ($(SAN),1)
  BUILD   := build-asan
  OPT     := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDSAN   := -fsanitize=address,undefined
  # Sanitizer runtimes need the dynamic libraries.
  LIBS    := -ljson-c -lseccomp
else
  OPT     := -O2
  LDSAN   :=
  LIBS    := -ljson-c -lseccomp
  # The CLI itself is fully static: no ld.so or libc.so mappings, so a
  # runtime process stays well under 2 MiB of RSS.
  CLI_LDFLAGS := -static
endif
CFLAGS  ?=
CFLAGS  += $(CFLAGS_COMMON) $(OPT)
LDFLAGS += $(LDSAN)

LIB_SRCS   := $(sort $(shell find src/base src/oci src/ctr src/vmm src/host src/hybrid -name '*.c' 2>/dev/null))
CMD_SRCS   := $(sort $(wildcard src/cmd/*.c))
# vesseld: its own front end and archive, so SQLite, libmicrohttpd,
# libarchive, libcurl and libcrypto never reach the static runtime build/vessel.
PLAT_SRCS  := $(sort $(wildcard src/platform/*.c))
DAEMON_SRCS := $(sort $(wildcard src/daemon/*.c))
PLAT_LIBS  := -lsqlite3 -lmicrohttpd -larchive -lcurl -lcrypto -lmnl -lnftables -ljson-c -lseccomp -lpthread -lm
AGENT_SRCS := $(sort $(wildcard src/agent/*.c))
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CMD_OBJS   := $(CMD_SRCS:%.c=$(BUILD)/obj/%.o)
PLAT_OBJS  := $(PLAT_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: agent-initrd all test test-unit test-integration demo deps clean fuzz bench asan
all: $(BUILD)/vessel $(BUILD)/vesseld $(BUILD)/vessel-vm $(BUILD)/vessel-agent agent-initrd

# Invoked as vessel-vm, vessel runs containers in microVMs (--isolation vm).
$(BUILD)/vessel-vm: $(BUILD)/vessel
	ln -sf vessel $@

# The guest's PID 1 of VM-isolated containers, static like the CLI.
$(BUILD)/vessel-agent: $(AGENT_OBJS) $(BUILD)/libvessel.a
	$(CC) $(LDFLAGS) $(CLI_LDFLAGS) -o $@ $(AGENT_OBJS) $(BUILD)/libvessel.a $(LIBS) -lpthread

# Its initramfs for the newest /boot kernel (the script skips, saying so,
# when there is no kernel with modules; it rebuilds only on change).
agent-initrd: $(BUILD)/vessel-agent
	@bash scripts/mkinitramfs-agent $(BUILD)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvessel.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Debug info goes to vessel.debug: `create` copies the binary into a sealed
# memfd on every run (CVE-2019-5736), so the shipped file is kept small.
$(BUILD)/vessel: $(CMD_OBJS) $(BUILD)/libvessel.a
	$(CC) $(LDFLAGS) $(CLI_LDFLAGS) -o $@.full $(CMD_OBJS) $(BUILD)/libvessel.a $(LIBS) -lpthread
	objcopy --only-keep-debug $@.full $@.debug
	objcopy --strip-all --add-gnu-debuglink=$@.debug $@.full $@
	rm -f $@.full

$(BUILD)/libvesseld.a: $(PLAT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/vesseld: $(DAEMON_OBJS) $(BUILD)/libvesseld.a $(BUILD)/libvessel.a
	$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(BUILD)/libvesseld.a $(BUILD)/libvessel.a $(PLAT_LIBS)

# Unit tests of the daemon's pure logic (test_vsd_*) link its archive too.
$(BUILD)/tests/test_vsd_%: tests/unit/test_vsd_%.c $(BUILD)/libvesseld.a $(BUILD)/libvessel.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests -o $@ $< $(BUILD)/libvesseld.a $(BUILD)/libvessel.a $(PLAT_LIBS) -lcmocka

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libvessel.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests -o $@ $< $(BUILD)/libvessel.a $(LIBS) -lcmocka

unit-bins: $(UNIT_BINS)

deps:
	bash scripts/setup.sh

# The whole suite: unit tests under ASan+UBSan, then integration tests
# against the real binary (including real podman and containerd).
test: deps
	$(MAKE) all unit-bins
	$(MAKE) SAN=1 all unit-bins
	bash tests/run

test-unit: all unit-bins
	bash tests/run --unit

demo: deps all
	bash scripts/demo.sh

bench: all
	bash bench/container-start
	bash bench/vm-boot
	bash bench/platform
	bash bench/vm-snapshot
	bash bench/hybrid-start

# libFuzzer build of the config parsers (clang; base/ and oci/ only).
FUZZ_SRCS := $(sort $(wildcard src/base/*.c src/oci/*.c))
fuzz: build-fuzz/fuzz_config build-fuzz/fuzz_http build-fuzz/fuzz_vsd_api build-fuzz/fuzz_snapshot build-fuzz/fuzz_migstream build-fuzz/fuzz_agent_proto

build-fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_SRCS) $(wildcard src/base/*.h src/oci/*.h)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Wall -Wextra -Werror -g -O1 -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
		-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^) -ljson-c

# The API socket's HTTP parser and Firecracker routes (the whole library:
# the routes drive the engine's handle).
build-fuzz/fuzz_http: tests/fuzz/fuzz_http.c $(LIB_SRCS) $(shell find src -name '*.h')
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Wall -Wextra -Werror -g -O1 -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
		-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^) -ljson-c -lseccomp -lpthread

# vesseld's request router over an in-memory database.
build-fuzz/fuzz_vsd_api: tests/fuzz/fuzz_vsd_api.c $(LIB_SRCS) $(PLAT_SRCS) $(shell find src -name '*.h')
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Wall -Wextra -Werror -g -O1 -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
		-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^) $(PLAT_LIBS)
# The snapshot state file parser (src/vmm/snapfile.c and the error idiom only).
build-fuzz/fuzz_snapshot: tests/fuzz/fuzz_snapshot.c src/vmm/snapfile.c src/base/error.c src/vmm/snapfile.h src/base/error.h
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Wall -Wextra -Werror -g -O1 -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
		-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^)
# The live migration stream reader (src/vmm/migstream.c, with the state
# parser it hands the state to).
build-fuzz/fuzz_migstream: tests/fuzz/fuzz_migstream.c src/vmm/migstream.c src/vmm/snapfile.c src/base/error.c src/vmm/migstream.h src/vmm/snapfile.h src/base/error.h
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Wall -Wextra -Werror -g -O1 -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
		-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^)
# What a guest agent sends the host: the protocol's choke point and the
# host's session (no VMM needed).
AGENT_FUZZ_SRCS := src/hybrid/proto.c src/hybrid/session.c src/base/error.c
build-fuzz/fuzz_agent_proto: tests/fuzz/fuzz_agent_proto.c $(AGENT_FUZZ_SRCS) $(wildcard src/hybrid/*.h src/base/*.h)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -Wall -Wextra -Werror -g -O1 -Isrc -D_GNU_SOURCE -fno-strict-aliasing \
		-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(filter %.c,$^)

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(PLAT_OBJS:.o=.d) $(DAEMON_OBJS:.o=.d) $(AGENT_OBJS:.o=.d)
