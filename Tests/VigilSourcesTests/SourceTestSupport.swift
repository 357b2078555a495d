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
    /// An up/down transition as the source pushed it.
    struct Change: Sendable, Equatable, CustomStringConvertible {
        var up: Bool
        var device: String
        var reason: String
        var description: String { "\(up ? "up" : "down") \(device): \(reason)" }
    }
    private let state = Mutex<(readings: [SourceReading], idles: [Int64], counters: [SourceCounters], changes: [(Change, SourceCounters?)])>(([], [], [], []))

    func reading(channel: Int, value: Double, monoNanos: Int64, wallNanos: Int64) {
        state.withLock { $0.readings.append(SourceReading(channel: channel, value: value, mono: monoNanos, wall: wallNanos)) }
    }

    func idle(monoNanos: Int64, wallNanos: Int64) {
        state.withLock { $0.idles.append(monoNanos) }
    }

    func counters(_ counters: SourceCounters) {
        state.withLock { $0.counters.append(counters) }
    }

    func sourceState(up: Bool, device: String, reason: String, wallNanos: Int64) {
        state.withLock { $0.changes.append((Change(up: up, device: device, reason: reason), $0.counters.last)) }
    }

    /// Up/down transitions, in order.
    var changes: [Change] { state.withLock { $0.changes.map(\.0) } }
    /// The counters pushed last before each transition.
    var countersAtChanges: [SourceCounters?] { state.withLock { $0.changes.map(\.1) } }
    /// Every push of counters, in order; `lastCounters` the latest.
    var pushedCounters: [SourceCounters] { state.withLock { $0.counters } }
    var lastCounters: SourceCounters? { state.withLock { $0.counters.last } }

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

/// Log lines a source wrote.
final class SerialEventLog: Sendable {
    private let state = Mutex<[String]>([])
    var logger: SerialSource.Logger { { [self] _, line in state.withLock { $0.append(line) } } }
    var lines: [String] { state.withLock { $0 } }
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
