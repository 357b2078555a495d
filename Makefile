# Vigil — the two commands a new machine needs: `make demo` and `make test`.
SWIFT     ?= swift
DURATION  ?= 30
# Debian packages: C libraries the agent links, and what the demo and the tests run.
DEB_BUILD := libgpiod-dev libserialport-dev libmosquitto-dev libyaml-dev pkg-config
DEB_RUN   := mosquitto mosquitto-clients socat

.PHONY: all deps build demo test bench clean

all: build

deps:
	@scripts/install-deps.sh $(DEB_BUILD) $(DEB_RUN)

build: deps
	$(SWIFT) build -c release --product vigil

# Simulated sensors → windowed z-score → a local mosquitto, shown by a subscriber for DURATION s.
demo: build
	DURATION=$(DURATION) scripts/demo.sh

# The whole suite, in release mode (the long-run stability test feeds 10^9 readings).
# Integration tests start their own mosquitto brokers and agents on free loopback ports.
test: deps
	$(SWIFT) build -c release --product vigil
	$(SWIFT) test -c release

clean:
	rm -rf .build

# Per-reading cost and allocations of the hot path (ordo-one/benchmark; builds its own harness).
bench: deps
	VIGIL_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-bench --allow-writing-to-package-directory benchmark --no-progress
