import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

/// A reading as a source delivered it.
struct SourceReading: Sendable, Equatable {
    var channel: Int
    var value: Double
    var mono: Int64
    var wall: Int64
}

/// Collects what a source delivers, from the source's thread (every source kind's tests use it).
final class CollectingSink: ReadingSink, Sendable {
    typealias Reading = SourceReading
    private let state = Mutex<(readings: [SourceReading], idles: [Int64])>(([], []))

    func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        state.withLock { $0.readings.append(SourceReading(channel: channel, value: value, mono: monoNanos, wall: wallNanos)) }
    }

    func idle(monoNanos: Int64, wallNanos: Int64) {
        state.withLock { $0.idles.append(monoNanos) }
    }

    var readings: [SourceReading] { state.withLock { $0.readings } }
    var count: Int { state.withLock { $0.readings.count } }
    var idleTimes: [Int64] { state.withLock { $0.idles } }
    /// `[channel, value]` per reading, in order.
    var values: [[Double]] { readings.map { [Double($0.channel), $0.value] } }
    func values(channel: Int) -> [Double] { readings.filter { $0.channel == channel }.map(\.value) }

    /// Readings grouped into rows of `channels` values (a data line delivers one per channel).
    func rows(channels: Int) -> [[Double]] {
        let r = readings
        return stride(from: 0, to: r.count - r.count % channels, by: channels).map { i in
            (0..<channels).map { c in
                #expect(r[i + c].channel == c)
                return r[i + c].value
            }
        }
    }
}

/// Log lines and state changes a source reported.
final class SerialEventLog: Sendable {
    private let state = Mutex<(lines: [String], changes: [(Bool, String)])>(([], []))
    var logger: SerialSource.Logger { { [self] _, line in state.withLock { $0.lines.append(line) } } }
    var observer: SerialSource.StateObserver { { [self] up, why in state.withLock { $0.changes.append((up, why)) } } }
    var lines: [String] { state.withLock { $0.lines } }
    var changes: [(up: Bool, reason: String)] { state.withLock { $0.changes.map { (up: $0.0, reason: $0.1) } } }
}

/// A source running on its own thread.
final class RunningSource<S: Source>: Sendable {
    let source: S
    let sink = CollectingSink()
    let stop = StopSignal()
    private let finished = Atomic<Bool>(false)

    init(_ source: S) {
        self.source = source
        Thread.detachNewThread { [self] in
            self.source.run(into: self.sink, until: self.stop)
            self.finished.store(true, ordering: .releasing)
        }
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Raises stop and waits for `run` to return; false when it did not within `seconds`.
    @discardableResult
    func stopAndJoin(within seconds: Double = 2) -> Bool {
        stop.raise()
        return waitUntil(seconds) { isFinished }
    }
}

/// Polls `condition` every 5 ms for up to `seconds`.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// A fresh directory under /tmp for pty links; removed by `cleanup()`.
struct SerialTempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "vigil-serial-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// SplitMix64: a small seeded generator for reproducible fuzzing.
struct SerialRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The three fields an ESP8266 sketch prints: t (°C), h (%RH), snd (dB).
let espFields = [
    SerialFieldMapping(field: "t", channel: "temperature", unit: "°C"),
    SerialFieldMapping(field: "h", channel: "humidity", unit: "%RH"),
    SerialFieldMapping(field: "snd", channel: "sound", unit: "dB"),
]

/// Same value, NaN included.
func sameValue(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
func sameValues(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy(sameValue) }

extension LineSplitter {
    /// Every line of `bytes`, as arrays.
    func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        feed(bytes) { out.append(Array($0)) }
        return out
    }
}

extension LineParser {
    func parse(_ text: String) -> LineKind { parse(Array(text.utf8)) }
}
