# Vigil — the two commands a new machine needs: `make demo` and `make test`.
SWIFT     ?= swift
DURATION  ?= 30
# Debian packages: C libraries the agent (and vigil-fleet: SQLite) links, and what the demo and the tests run.
DEB_BUILD := libgpiod-dev libserialport-dev libasound2-dev libmosquitto-dev libyaml-dev libsqlite3-dev pkg-config
DEB_RUN   := mosquitto mosquitto-clients socat
# What the browser tests of vigil-fleet's page use: headless Chromium (~124 MB download, ~412 MB installed), curl;
# the metrics textfile test parses with python3-prometheus-client; the PostgreSQL store's tests start
# their own server from Debian's postgresql (initdb, pg_ctl).
DEB_TEST  := chromium curl python3-prometheus-client postgresql
# What `make deb` and the packaging tests use: dpkg-shlibdeps, lintian, systemd-analyze/-sysusers.
DEB_PACKAGING := dpkg-dev lintian systemd man-db
# `make install` (PREFIX, DESTDIR): binary, unit, /etc/vigil/vigil.yaml, sysusers.d, tmpfiles.d, udev rule.
PREFIX    ?= /usr/local
DESTDIR   ?=

.PHONY: all deps deps-packaging deps-test build demo test bench bench-e2e clean install install-fleet deb deb-fleet evaluate fuzz

all: build

deps:
	@scripts/install-deps.sh $(DEB_BUILD) $(DEB_RUN)

deps-packaging:
	@scripts/install-deps.sh $(DEB_PACKAGING)

deps-test:
	@scripts/install-deps.sh $(DEB_TEST)

build: deps
	$(SWIFT) build -c release --product vigil

# Simulated sensors → windowed z-score → a local mosquitto, shown by a subscriber for DURATION s.
demo: build
	DURATION=$(DURATION) scripts/demo.sh

# The whole suite, in release mode (the long-run stability test feeds 10^9 readings).
# Integration tests start their own mosquitto brokers and agents on free loopback ports.
# Packaging checks included: `make deb` first, then the tests lint and install that package.
# The fleet page's browser tests run Chromium, the PostgreSQL store's tests a PostgreSQL server: both fail
# (not skip) when it is missing.
test: deps deps-packaging deps-test
	$(SWIFT) build -c release --product vigil
	$(SWIFT) build -c release --product vigil-fleet
	SWIFT=$(SWIFT) scripts/build-deb.sh
	VIGIL_PACKAGING_TESTS=required VIGIL_BROWSER_TESTS=required VIGIL_POSTGRES_TESTS=required $(SWIFT) test -c release

install: build
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install.sh .build/release/vigil

# The fleet receiver: binary, hardened unit, /etc/vigil/fleet.yaml, sysusers.d, tmpfiles.d (docs/fleet.md#systemd).
install-fleet: deps
	$(SWIFT) build -c release --product vigil-fleet
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install-fleet.sh .build/release/vigil-fleet

# A .deb for this machine's architecture (static Swift runtime), in .build-deb/.
deb: deps deps-packaging
	SWIFT=$(SWIFT) scripts/build-deb.sh

# The fleet receiver's own package, vigil-fleet, in .build-deb-fleet/ (a second whole static build).
deb-fleet: deps deps-packaging
	SWIFT=$(SWIFT) scripts/build-fleet-deb.sh

clean:
	rm -rf .build .build-deb .build-deb-fleet .build-bench-e2e .build-fuzz

# Accuracy on SKAB (labelled industrial recordings, ../shared/data/skab): every detector, pooled over
# the 34 recordings, first 400 rows of each as warm-up (docs/accuracy.md has the table).
SKAB ?= ../shared/data/skab
evaluate:
	$(SWIFT) build -c release --product vigil
	@vigil="$$($(SWIFT) build -c release --show-bin-path)/vigil"; \
	run() { title="$$1"; shift; echo "== $$title: vigil replay SKAB $$*"; \
	  "$$vigil" replay $(SKAB)/valve1 $(SKAB)/valve2 $(SKAB)/other --labels anomaly --exclude changepoint --warmup-rows 400 "$$@" 2>/dev/null | tail -n +2 || exit 1; }; \
	run "default configuration (two scales, 1 false alarm/day)"; \
	run "zscore, smoothed, one scale (recommended for slow process data)" --spikes false --z-on 4.5 --z-off 2.7; \
	run "zscore smoothed + t2" --multivariate; \
	run "robust (median/MAD), smoothed, one scale" --detector robust --spikes false --z-on 5 --z-off 3; \
	run "robust, two scales" --detector robust; \
	run "ewma, smoothed, one scale" --detector ewma --spikes false --z-on 4 --z-off 2.5; \
	run "ewma, two scales" --detector ewma; \
	run "previous default configuration (raw readings, z 4 / 2.5)" --smoothing 1 --spikes false --z-on 4 --z-off 2.5; \
	run "raw readings, 1 false alarm/day" --smoothing 1; \
	run "t2 alone (multivariate)" --detector t2; \
	run "older defaults (window 60, no hold-out)" --window 60 --hold-out 0 --smoothing 1 --spikes false --z-on 4 --z-off 2.5

# Per-reading cost and allocations of the hot path (ordo-one/benchmark; builds its own harness).
bench: deps
	VIGIL_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-bench --allow-writing-to-package-directory benchmark --no-progress

# End to end, side by side: `vigil run` and a reference Python agent (scripts/bench-e2e/pyagent.py,
# pyserial + paho-mqtt in a venv under .build-bench-e2e/) read the same LINES serial kv lines through
# socat ptys into one loopback mosquitto, ROUNDS alternating rounds; then callgrind instructions per
# reading, CPU % at 10 and 100 lines/s and idle wake-ups. docs/performance.md explains each figure.
LINES  ?= 1000000
ROUNDS ?= 3
bench-e2e: deps
	@scripts/install-deps.sh valgrind
	$(SWIFT) build -c release --product vigil
	LINES=$(LINES) ROUNDS=$(ROUNDS) scripts/bench-e2e/run.sh "$$($(SWIFT) build -c release --show-bin-path)/vigil"

# Coverage-guided fuzzing (libFuzzer + ASan) of every parser of outside bytes, FUZZ_SECONDS per target
# (docs/testing.md, "Fuzzing"). Builds into .build-fuzz/; prints executions and crashes per target and
# fails on any crash, leak or out-of-memory. `make fuzz FUZZ_SECONDS=5` is the short version.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) scripts/fuzz.sh run

# Soak: the agent on the simulator (3 channels at 720 readings/s: 24 h at 10 Hz in an hour) through a real
# mosquitto restarted every 5 minutes, for DURATION s (1 h unless given); RSS, fds, threads and outbox depth
# every 10 s into .build/soak/soak.csv and soak.svg. Fails on a lost seq, a thread or fd more, or anonymous
# RSS growing over 1 MiB after the 5-minute warm-up. docs/testing.md explains it.
.PHONY: soak
SOAK_SECONDS = $(if $(filter command line environment,$(origin DURATION)),$(DURATION),3600)
soak: build
	scripts/soak.py --vigil .build/release/vigil --duration $(SOAK_SECONDS) --rss-limit-kib 1024 --out .build/soak
