import Foundation
import Testing
import VigilCore
@testable import VigilUplink

/// Outbox append and drain rates, and bytes written per event, for each sync policy. Prints a table; the
/// numbers depend on the disk (an SD card syncs far slower than a laptop SSD). Run alone with
/// `swift test -c release --filter OutboxBenchmark`; `VIGIL_OUTBOX_BENCH_EVENTS` sets the count (default 20000)
/// and `VIGIL_OUTBOX_BENCH_DIR` the directory (default the temporary directory).
@Suite("Outbox benchmark", .serialized)
struct OutboxBenchmark {
    let logs = LogCapture()

    /// A real anomaly-start message, as the agent sends it.
    static let message: OutboundMessage = {
        let e = JSONPayloadEncoder(device: "gw-1")
        let event = Event.anomalyStart(channel: ChannelInfo(name: "temperature", unit: "°C"),
                                       EpisodeStart(id: 3, wallNanos: 1_795_434_000_123_000_000, value: 31.2, z: 6.104, mean: 22.012346, std: 0.5))
        return e.message(for: event, seq: 123_456)
    }()

    struct Row: CustomStringConvertible {
        var name: String
        var appendRate: Double
        var appendBytes: Double
        var syncsPerEvent: Double
        var drainRate: Double
        var drainBytes: Double
        var recoverySeconds: Double
        var description: String {
            func f(_ v: Double, _ places: Int = 0) -> String { String(format: "%.\(places)f", v) }
            return "| \(name) | \(f(appendRate)) | \(f(appendBytes, 1)) | \(f(syncsPerEvent, 3)) | \(f(drainRate)) | \(f(drainBytes, 1)) | \(f(recoverySeconds * 1000, 1)) |"
        }
    }

    private func measure(_ name: String, sync: OutboxConfig.Sync?, count: Int, base: String) -> Row {
        let dir = base + "/vigil-outbox-bench-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = Outbox.Settings(directory: sync == nil ? nil : dir, maxEvents: count + 1, maxBytes: 1 << 30,
                                       sync: sync ?? .batch, syncInterval: 1)
        let o = Outbox(settings: settings, logger: logs.logger())
        let m = Self.message
        let t0 = Date()
        for _ in 0..<count { o.append(m) }
        o.syncNow(upTo: nil)
        let appendTime = Date().timeIntervalSince(t0)
        let afterAppend = o.stats

        // Drain as the uplink does: a window of 20 in flight, acknowledged in groups.
        o.beginSession()
        let t1 = Date()
        var window: [UInt64] = []
        while let t = o.next(backlogAllowed: true) {
            window.append(t.id)
            if window.count == 20 { o.acknowledge(window); window.removeAll(keepingCapacity: true) }
        }
        o.acknowledge(window)
        let drainTime = Date().timeIntervalSince(t1)
        let afterDrain = o.stats
        o.close()

        // Recovery: the same number of entries on disk, none acknowledged.
        var recovery = 0.0
        if sync != nil {
            let fill = Outbox(settings: settings, logger: logs.logger())
            for _ in 0..<count { fill.append(m) }
            fill.close()
            let t2 = Date()
            let again = Outbox(settings: settings, logger: logs.logger())
            recovery = Date().timeIntervalSince(t2)
            #expect(again.stats.recovered == count)
            again.close()
        }
        return Row(name: name, appendRate: Double(count) / appendTime,
                   appendBytes: Double(afterAppend.bytesWritten) / Double(count),
                   syncsPerEvent: Double(afterAppend.syncs) / Double(count),
                   drainRate: Double(count) / drainTime,
                   drainBytes: Double(afterDrain.bytesWritten - afterAppend.bytesWritten) / Double(count),
                   recoverySeconds: recovery)
    }

    @Test("append and drain rates per sync policy")
    func rates() {
        let env = ProcessInfo.processInfo.environment
        let count = env["VIGIL_OUTBOX_BENCH_EVENTS"].flatMap(Int.init) ?? 20_000
        let base = env["VIGIL_OUTBOX_BENCH_DIR"] ?? FileManager.default.temporaryDirectory.path
        let rows = [
            measure("every_event", sync: .everyEvent, count: min(count, 2_000), base: base),
            measure("batch", sync: .batch, count: count, base: base),
            measure("interval (1 s)", sync: .interval, count: count, base: base),
            measure("memory only", sync: nil, count: count, base: base),
        ]
        print("""
            outbox benchmark: \(count) anomaly events of \(OutboxFormat.entrySize(Self.message)) bytes per record (every_event: \(min(count, 2_000))), in \(base)
            | policy | append events/s | bytes written/event | fdatasync/event | drain events/s | bytes written/event (acks) | recovery ms |
            |---|---|---|---|---|---|---|
            \(rows.map(\.description).joined(separator: "\n"))
            """)
        for r in rows { #expect(r.appendRate > 100 && r.drainRate > 1_000) }
    }
}
