# fuzz.mk: builds the libFuzzer harnesses of tests/fuzz/ with clang, apart from the gcc
# build: the library's sources are compiled again into $(OUT) with
# -fsanitize=fuzzer-no-link,address,undefined and each harness is linked with
# -fsanitize=fuzzer. `make fuzz` calls it with the variables below (GNU make).
#   top_srcdir, top_builddir   absolute paths
#   LIB_SOURCES                libinsitu's sources (.c and .h; the .h are ignored)
#   BUILT_SOURCES_C            the generated sources (in top_builddir)
#   DEP_CFLAGS, DEP_LIBS       the dependencies' flags, as configure found them
#   HARNESSES                  names: fuzz_NAME.c is a harness
FUZZ_CC ?= clang
OUT ?= $(top_builddir)/fuzz-build
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FCFLAGS = -g -O1 -std=c11 -D_GNU_SOURCE -DHAVE_CONFIG_H -Wall -Wno-unused-parameter $(SAN) \
	-I$(top_srcdir)/include -I$(top_srcdir)/src -I$(top_srcdir)/src/sta -I$(top_srcdir)/ingest \
	-I$(top_builddir) $(DEP_CFLAGS) -MMD -MP

LIB_C = $(filter %.c,$(LIB_SOURCES))
LIB_OBJS = $(patsubst %.c,$(OUT)/obj/%.o,$(LIB_C) $(BUILT_SOURCES_C))
FUZZERS = $(patsubst %,$(OUT)/fuzz_%,$(HARNESSES))

all: check-clang $(FUZZERS)

# libFuzzer comes with clang's runtime (Debian: clang and libclang-rt-14-dev)
check-clang:
	@mkdir -p $(OUT)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' > $(OUT)/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $(OUT)/probe $(OUT)/probe.c >/dev/null 2>&1 || \
	  { echo "make fuzz: '$(FUZZ_CC)' cannot build a libFuzzer harness: install clang and its"; \
	    echo "runtime (Debian 12: apt-get install clang libclang-rt-14-dev; scripts/install-deps.sh does)"; \
	    exit 1; }
	@rm -f $(OUT)/probe $(OUT)/probe.c

$(OUT)/obj/%.o: $(top_srcdir)/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $*.c"
	@$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(OUT)/obj/%.o: $(top_builddir)/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $*.c"
	@$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(OUT)/libinsitu-fuzz.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $(LIB_OBJS)

HARNESS_FLAGS = -DFUZZ_HOME='"$(top_srcdir)/tests/fuzz"'

$(OUT)/obj/fuzz_common.o: $(top_srcdir)/tests/fuzz/fuzz_common.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FCFLAGS) $(HARNESS_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(OUT)/fuzz_%: $(top_srcdir)/tests/fuzz/fuzz_%.c $(OUT)/obj/fuzz_common.o $(OUT)/libinsitu-fuzz.a
	@echo "  FUZZLD   $@"
	@$(FUZZ_CC) $(FCFLAGS) $(HARNESS_FLAGS) -fsanitize=fuzzer -o $@ $< $(OUT)/obj/fuzz_common.o \
	  $(OUT)/libinsitu-fuzz.a $(DEP_LIBS) -lm -lpthread

-include $(LIB_OBJS:.o=.d) $(OUT)/obj/fuzz_common.d

.PHONY: all check-clang
