# IP-IQA in Swift. `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine.
SWIFT_RELEASE = swift build -c release
IPIQA = .build/release/ipiqa

.PHONY: deps build demo serve test bench clean

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

# Benchmarks against PyTorch live outside the test suite.
bench: build
	$(IPIQA) bench

clean:
	rm -rf .build
