#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every parser that takes outside bytes.
#
#   scripts/fuzz.sh build             build every harness into .build-fuzz/bin/
#   scripts/fuzz.sh run [target...]   build, then run each target for FUZZ_SECONDS (default 60)
#   scripts/fuzz.sh list              the target names
#
# How it builds: SwiftPM compiles the library modules (and their packages) with
# `-sanitize=fuzzer,address -enable-testing` into .build-fuzz/spm (libraries only: an executable
# target would bring its own main and clash with libFuzzer's); then swiftc links each harness
# (Fuzz/<target>.swift, one `LLVMFuzzerTestOneInput` each) against those object files.
# Runs read Fuzz/corpus/<target>/ (committed seeds) and grow .build-fuzz/corpus/<target>/ (not
# committed). An input slower than 10 s counts as a hang. A crash leaves its input in .build-fuzz/crashes/<target>/ and makes the run fail.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-512}
SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
OUT=.build-fuzz
SPM=$OUT/spm
FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)

# target → the library modules its harness imports (their object files and dependencies are linked).
declare -A MODULES=(
    [serial]="VigilSources"
    [w1slave]="VigilSources"
    [iio]="VigilSources"
    [dht]="VigilSources"
    [config]="VigilAgent"
    [replay]="VigilAgent"
    [outbox]="VigilUplink"
    [fleet]="VigilFleetCore"
)
TARGETS=(serial config outbox w1slave iio dht replay fleet)

build() {
    # One SwiftPM invocation per top library (VigilAgent brings VigilSources and VigilUplink).
    for top in VigilAgent VigilFleetCore; do
        "$SWIFT" build -c release --scratch-path "$SPM" "${FLAGS[@]}" --target "$top" >&2
    done
    local rel=$SPM/release
    # Every object file of the package's modules except executables and tests: all are instrumented,
    # so whatever a harness does not use is simply not called.
    local objects=()
    for d in "$rel"/*.build; do
        case "$(basename "$d")" in
            vigil.build|vigil_fleet.build|*Tests.build|VigilTestSupport.build|*-tool.build) continue ;;
        esac
        objects+=("$d")
    done
    mkdir -p "$OUT/bin"
    for t in "${TARGETS[@]}"; do
        local needed=()
        case "${MODULES[$t]}" in
            VigilFleetCore) needed=(VigilFleetCore VigilCore) ;;
            *) needed=(VigilAgent VigilYAML VigilSources VigilUplink VigilCore VigilIO SystemPackage CSystem Logging) ;;
        esac
        local objs=()
        for m in "${needed[@]}"; do objs+=("$rel/$m.build"/*.o); done
        echo "link $OUT/bin/fuzz-$t" >&2
        "$SWIFTC" -O -parse-as-library -sanitize=fuzzer,address \
            -I "$rel/Modules" \
            -Xcc -fmodule-map-file=Sources/CGPIOD/module.modulemap \
            -Xcc -fmodule-map-file=Sources/CSerialPort/module.modulemap \
            -Xcc -fmodule-map-file=Sources/CYAML/module.modulemap \
            -Xcc -fmodule-map-file=Sources/CMosquitto/module.modulemap \
            -Xcc -fmodule-map-file="$SPM/checkouts/swift-system/Sources/CSystem/include/module.modulemap" \
            -Xcc -I"$SPM/checkouts/swift-system/Sources/CSystem/include" \
            -module-cache-path "$OUT/module-cache" \
            "Fuzz/$t.swift" "${objs[@]}" \
            -lyaml -lserialport -lgpiod -lmosquitto \
            -o "$OUT/bin/fuzz-$t" 2>&1 | { grep -v "Cannot export local symbol" || true; }
        [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "link of fuzz-$t failed" >&2; exit 1; }
    done
}

run() {
    local targets=("$@")
    [ ${#targets[@]} -eq 0 ] && targets=("${TARGETS[@]}")
    local failed=0 summary=()
    for t in "${targets[@]}"; do
        local corpus=$OUT/corpus/$t crashes=$OUT/crashes/$t log=$OUT/logs/$t.log
        mkdir -p "$corpus" "$crashes" "$OUT/logs"
        echo "== fuzz-$t: ${FUZZ_SECONDS}s" >&2
        local rc=0
        # The Swift runtime's backtracer trips ASan after a trap; libFuzzer's own report is enough.
        SWIFT_BACKTRACE=enable=no "$OUT/bin/fuzz-$t" "$corpus" "Fuzz/corpus/$t" \
            -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$RSS_LIMIT_MB" -max_len=4096 -timeout=10 \
            -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
        local execs crash
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        crash=$(find "$crashes" -type f | wc -l)
        [ "$rc" -ne 0 ] && failed=1
        summary+=("$(printf '%-8s executions %12s   crash/leak/oom files %3s   exit %s' "$t" "${execs:-?}" "$crash" "$rc")")
        [ "$rc" -ne 0 ] && { grep -m3 -E "ERROR|Fatal error|==[0-9]+==" "$log" >&2 || true; }
    done
    printf '%s\n' "${summary[@]}"
    return $failed
}

case "${1:-run}" in
    build) build ;;
    run) shift || true; build; run "$@" ;;
    list) printf '%s\n' "${TARGETS[@]}" ;;
    *) echo "usage: $0 build | run [target...] | list" >&2; exit 64 ;;
esac
