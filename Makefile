# IP-IQA in Swift. `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine.
SWIFT_RELEASE = swift build -c release
IPIQA = .build/release/ipiqa

.PHONY: deps build demo serve test bench clean fuzz fuzz-build fuzz-replay test-sanitize

deps:
	@bash Scripts/install-deps.sh

build: deps
	$(SWIFT_RELEASE) --product ipiqa

# The main job: the whole method on the embedded synthetic benchmark (SynthAGI).
demo: build
	$(IPIQA) demo

# The scoring service with its web page, on the demo's model (trained first if missing): http://127.0.0.1:8080/
serve: build
	$(IPIQA) serve --demo

# The test suite (release build with testing enabled: the numerical tests are too slow unoptimised).
test: deps
	swift test -c release -Xswiftc -enable-testing

# libFuzzer targets (Fuzz/), one per parser of untrusted input, with address sanitizer: each runs FUZZ_SECONDS
# (default 600) from its committed seed corpus; new inputs go to Fuzz/.work/<target>, crashes to Fuzz/Crashes/.
# Copy a fixed crash into Fuzz/Regressions/<target>/ and the test suite replays it forever (ParserFuzzingTests).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = FuzzCheckpoint FuzzModelFile FuzzZip FuzzXlsx FuzzCsv FuzzJsonConfig FuzzImage FuzzTokenizer FuzzMat
FUZZ_BUILD = cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address

fuzz-build:
	$(FUZZ_BUILD)

fuzz: fuzz-build
	@mkdir -p Fuzz/Crashes
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p Fuzz/.work/$$t; \
		echo "== $$t for $(FUZZ_SECONDS) s"; \
		ASAN_OPTIONS=detect_leaks=0 Fuzz/.build/release/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=30 -detect_leaks=0 -print_final_stats=1 \
			-artifact_prefix=Fuzz/Crashes/$$t- Fuzz/.work/$$t Fuzz/Corpus/$$t || exit 1; \
	done

# Every corpus and regression input once through the sanitized targets (the test suite replays them unsanitized).
fuzz-replay: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		ASAN_OPTIONS=detect_leaks=0 Fuzz/.build/release/$$t -runs=0 -detect_leaks=0 Fuzz/Corpus/$$t $$( [ -d Fuzz/Regressions/$$t ] && echo Fuzz/Regressions/$$t ) || exit 1; \
	done

# The C kernels and codec shims under address and undefined-behaviour sanitizers, through the test suites that drive
# them (Swift on Linux has no UB sanitizer, so -fsanitize=undefined applies to the C targets; ASan to everything).
# Leak reports are off: at exit the toolchain's XCTest and Foundation report a few small allocations of their own.
test-sanitize: deps
	ASAN_OPTIONS=detect_leaks=0 swift test -c release -Xswiftc -enable-testing --sanitize=address -Xcc -fsanitize=undefined \
		-Xcc -fno-sanitize-recover=undefined --scratch-path .build-sanitize \
		--filter "TensorTests|NNTests|ImagingTests|ArchiveTests"

# Benchmarks against PyTorch live outside the test suite.
bench: build
	$(IPIQA) bench

clean:
	rm -rf .build
