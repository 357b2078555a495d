import Foundation
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// The disk-backed outbox on its own: order, bounds and drop policy, restart and crash recovery, damaged
/// files, and a disk that fills up or turns read-only.
@Suite("Outbox")
struct OutboxTests {
    let logs = LogCapture()

    private func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-outbox-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    private func message(_ name: String, _ priority: OutboundMessage.Priority = .event, bytes: Int = 0) -> OutboundMessage {
        let pad = String(repeating: "x", count: max(0, bytes - name.utf8.count))
        return OutboundMessage(topic: priority == .event ? "vigil/t/anomaly/c" : "vigil/t/summary/c",
                               payload: Array((name + pad).utf8), qos: 1, priority: priority)
    }

    /// Every tenth a summary, every tenth (offset by five) a health report, the rest events.
    private static func priority(_ i: Int) -> OutboundMessage.Priority {
        i % 10 == 0 ? .summary : i % 10 == 5 ? .health : .event
    }

    private func name(_ m: OutboundMessage) -> String {
        String(String(decoding: m.payload, as: UTF8.self).prefix { $0 != "x" })
    }

    private func open(_ dir: String, sync: OutboxConfig.Sync = .everyEvent, maxEvents: Int = 100_000,
                      maxBytes: Int = 16 << 20, segmentBytes: Int? = nil, diskRetry: Double = 60) -> Outbox {
        Outbox(settings: .init(directory: dir, maxEvents: maxEvents, maxBytes: maxBytes, sync: sync,
                               segmentBytes: segmentBytes, diskRetry: diskRetry), logger: logs.logger())
    }

    private func segments(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    private func takeAll(_ o: Outbox, backlog: Bool = true) -> [Outbox.Taken] {
        var out: [Outbox.Taken] = []
        while let t = o.next(backlogAllowed: backlog) { out.append(t) }
        return out
    }

    // MARK: - Order

    @Test("entries come out in the order they went in; what was queued before a connection is backlog, later ones are live and go first")
    func ordering() throws {
        let o = open(try tempDir())
        defer { o.close() }
        for i in 0..<10 { o.append(message("m\(i)", i % 3 == 0 ? .summary : .event)) }
        o.beginSession()
        o.append(message("live1"))
        // Without a drain token only live entries go (they overtake the backlog); with one, the oldest goes first.
        #expect(takeAll(o, backlog: false).map { name($0.message) } == ["live1"])
        let backlog = takeAll(o)
        #expect(backlog.map { name($0.message) } == (0..<10).map { "m\($0)" })
        #expect(backlog.allSatisfy { $0.backlog })
        #expect(o.stats.inflight == 11)

        // A failed publish puts one back; a lost connection puts them all back, in order.
        o.putBack(backlog[3].id)
        #expect(o.next(backlogAllowed: true)?.id == backlog[3].id)
        o.acknowledge(backlog.prefix(5).map(\.id))
        #expect(o.endSession() == 6)
        o.beginSession()
        #expect(takeAll(o).map { name($0.message) } == ["m5", "m6", "m7", "m8", "m9", "live1"])
        #expect(o.stats.events == 6)
    }

    // MARK: - Bounds

    @Test("over max_events the oldest summary goes first, then the oldest event; drops are counted per kind")
    func dropPolicyByCount() throws {
        let dir = try tempDir()
        let o = open(dir, maxEvents: 4)
        let script: [(String, OutboundMessage.Priority, Int)] = [
            ("E1", .event, 0), ("S1", .summary, 0), ("S2", .summary, 0), ("E2", .event, 0),
            ("E3", .event, 1),    // drops S1
            ("S3", .summary, 1),  // drops S2
            ("E4", .event, 1),    // drops S3
            ("E5", .event, 1),    // no summary left: drops E1
            ("S4", .summary, 1),  // the only summary is the newcomer: it goes
        ]
        for (n, p, expected) in script {
            #expect(o.append(message(n, p)) == expected, "appending \(n)")
        }
        #expect(o.messages.map(name) == ["E2", "E3", "E4", "E5"])
        let s = o.stats
        #expect(s.droppedSummaries == 4 && s.droppedEvents == 1 && s.events == 4)
        o.close()
        // The drops were recorded on disk too.
        let again = open(dir, maxEvents: 4)
        defer { again.close() }
        #expect(again.messages.map(name) == ["E2", "E3", "E4", "E5"])
    }

    @Test("over max_bytes the same policy applies, and entries in flight are never dropped")
    func dropPolicyByBytes() throws {
        let one = OutboxFormat.entrySize(message("E0", bytes: 200))
        let o = open(try tempDir(), maxBytes: one * 5)
        defer { o.close() }
        o.append(message("E0", bytes: 200))
        o.append(message("E1", bytes: 200))
        o.beginSession()
        let first = o.next(backlogAllowed: true)!  // E0 in flight
        #expect(name(first.message) == "E0")
        for i in 0..<3 { o.append(message("S\(i)", .summary, bytes: 200)) }
        o.append(message("E2", bytes: 200))  // over by one: S0 goes
        o.append(message("E3", bytes: 200))  // S1 goes
        o.append(message("E4", bytes: 200))  // S2 goes
        o.append(message("E5", bytes: 200))  // no summary; E0 is in flight, so E1 goes
        #expect(o.messages.map(name) == ["E0", "E2", "E3", "E4", "E5"])
        #expect(o.stats.bytes <= one * 5)
        #expect(o.stats.droppedSummaries == 3 && o.stats.droppedEvents == 1)
    }

    // MARK: - Restarts and crashes

    @Test("after a restart the unacknowledged entries are back, in order, and new ones follow them")
    func restartRecovery() throws {
        let dir = try tempDir()
        do {
            let o = open(dir, sync: .batch)
            for i in 0..<100 { o.append(message("m\(i)", Self.priority(i))) }
            o.beginSession()
            let taken = (0..<40).compactMap { _ in o.next(backlogAllowed: true) }
            o.acknowledge(taken.prefix(30).map(\.id))
            o.close()
        }
        let o = open(dir)
        #expect(o.stats.recovered == 70)
        #expect(o.messages.map(name) == (30..<100).map { "m\($0)" })
        #expect(o.messages.map(\.priority) == (30..<100).map(Self.priority))
        #expect(o.stats.healthReports == 7)
        o.append(message("new"))
        o.close()
        let third = open(dir)
        defer { third.close() }
        #expect(third.messages.map(name) == (30..<100).map { "m\($0)" } + ["new"])
        #expect(logs.lines.contains { $0.message.contains("70 unacknowledged message(s) recovered") })
    }

    @Test("what a killed process appended is all in its files (each append is written before it returns); a second process cannot share the directory")
    func killedProcessLosesNothing() throws {
        let dir = try tempDir()
        let o = open(dir, sync: .interval)  // not synced by us: only write(2) happened, as before a SIGKILL
        defer { o.close() }
        for i in 0..<50 { o.append(message("m\(i)")) }
        // The files as the kernel holds them at this moment, opened by a "restarted" process.
        let copy = try tempDir()
        for f in segments(dir) { try FileManager.default.copyItem(atPath: dir + "/" + f, toPath: copy + "/" + f) }
        let again = open(copy)
        defer { again.close() }
        #expect(again.messages.map(name) == (0..<50).map { "m\($0)" })

        let blocked = open(dir)
        defer { blocked.close() }
        #expect(blocked.stats.storage == .memory)
        #expect(logs.lines.contains { $0.message.contains("in use by another vigil process") })
    }

    /// Writes 20 entries, closes, and returns the segment path, its size and the size of the last record.
    private func twentyEntries(_ dir: String) throws -> (path: String, size: Int, last: Int) {
        let o = open(dir)
        for i in 0..<20 { o.append(message("m\(i)", bytes: 100)) }
        o.close()
        let segs = segments(dir)
        #expect(segs.count == 1)
        let path = dir + "/" + segs[0]
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        return (path, size, OutboxFormat.entrySize(message("m19", bytes: 100)))
    }

    @Test("a torn last record (power cut mid-write) is cut off at every possible length; older records are intact and appends continue",
          arguments: [1, 4, 8, 11, 12, 13, 20, 60, 100])
    func tornTail(missing: Int) throws {
        let dir = try tempDir()
        let (path, size, last) = try twentyEntries(dir)
        let cut = min(missing, last - 1)
        #expect(truncate(path, off_t(size - cut)) == 0)
        let o = open(dir)
        #expect(o.messages.map(name) == (0..<19).map { "m\($0)" })
        #expect(logs.lines.contains { $0.level == .warning && $0.message.contains("cut off") })
        // The file was cut back to the last good record, so new records follow cleanly.
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int) == size - last)
        o.append(message("after"))
        o.close()
        let again = open(dir)
        defer { again.close() }
        #expect(again.messages.map(name) == (0..<19).map { "m\($0)" } + ["after"])
    }

    @Test("a damaged last record (bad checksum) and garbage after the end are cut off")
    func corruptedTail() throws {
        let dir = try tempDir()
        let (path, size, last) = try twentyEntries(dir)
        try flipByte(path, at: size - last / 2)
        let o = open(dir)
        #expect(o.messages.map(name) == (0..<19).map { "m\($0)" })
        o.close()

        let dir2 = try tempDir()
        let (path2, _, _) = try twentyEntries(dir2)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path2))
        h.seekToEndOfFile()
        h.write(Data((0..<333).map { _ in UInt8.random(in: 0...255) }))
        try h.close()
        let o2 = open(dir2)
        defer { o2.close() }
        #expect(o2.messages.map(name) == (0..<20).map { "m\($0)" })
    }

    @Test("a damaged record in the middle (a bad sector) is skipped; the records before and after it survive")
    func corruptedMiddle() throws {
        let dir = try tempDir()
        let (path, _, last) = try twentyEntries(dir)
        // Record k starts at header + k·size (all records have the same size here); damage record 7's payload.
        try flipByte(path, at: OutboxFormat.headerSize + 7 * last + last - 10)
        let o = open(dir)
        defer { o.close() }
        #expect(o.messages.map(name) == (0..<20).filter { $0 != 7 }.map { "m\($0)" })
        #expect(logs.lines.contains { $0.level == .error && $0.message.contains("damaged byte(s)") })
    }

    private func flipByte(_ path: String, at offset: Int) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[offset] ^= 0x5A
        try data.write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Files stay small

    @Test("segments rotate, and fully acknowledged ones are deleted")
    func rotationAndReclaim() throws {
        let dir = try tempDir()
        let o = open(dir, sync: .batch, segmentBytes: 4096)
        for i in 0..<200 { o.append(message("m\(i)", bytes: 250)) }
        #expect(segments(dir).count >= 12)
        o.beginSession()
        var acked = 0
        while let t = o.next(backlogAllowed: true) { o.acknowledge([t.id]); acked += 1 }
        #expect(acked == 200)
        #expect(segments(dir).count == 1)
        #expect(o.stats.diskBytes < 4 * 4096, "\(o.stats.diskBytes) bytes left on disk")
        o.close()
        let again = open(dir)
        defer { again.close() }
        #expect(again.stats.recovered == 0 && again.stats.events == 0)
    }

    @Test("while full and dropping, the files stay within twice max_bytes (compaction), and what is left survives a restart")
    func compactionBoundsTheDisk() throws {
        let dir = try tempDir()
        let maxBytes = 32 << 10
        let o = open(dir, sync: .batch, maxBytes: maxBytes, segmentBytes: 4096)
        var peak = 0
        for round in 0..<200 {
            o.append(message("E\(round)", bytes: 200))
            for j in 0..<5 { o.append(message("S\(round).\(j)", .summary, bytes: 200)) }
            peak = max(peak, o.stats.diskBytes)
        }
        let s = o.stats
        #expect(s.bytes <= maxBytes)
        #expect(peak <= 2 * maxBytes + 2 * 4096 + 2048, "peak \(peak) bytes on disk")
        #expect(s.droppedSummaries > 0)
        let held = o.messages.map(name)
        o.close()
        let again = open(dir)
        defer { again.close() }
        #expect(again.messages.map(name) == held)
    }

    // MARK: - Disk failures

    @Test("a write failure turns the outbox to memory with one log line; nothing is lost, and the disk is used again later")
    func degradesToMemoryAndBack() throws {
        let dir = try tempDir()
        let o = open(dir, diskRetry: 0.2)
        for i in 0..<5 { o.append(message("m\(i)")) }
        o.injectWriteFailure(ENOSPC)
        for i in 5..<10 { o.append(message("m\(i)")) }
        #expect(o.stats.storage == .memory)
        let errors = logs.lines.filter { $0.level == .error && $0.message.contains("No space left on device") }
        #expect(errors.count == 1, "\(logs.lines.map(\.message))")
        #expect(o.messages.map(name) == (0..<10).map { "m\($0)" })

        o.injectWriteFailure(0)
        Thread.sleep(forTimeInterval: 0.3)
        o.append(message("m10"))
        #expect(o.stats.storage == .disk)
        #expect(logs.lines.contains { $0.message.contains("writing to disk again") })
        o.close()
        let again = open(dir)
        defer { again.close() }
        #expect(again.messages.map(name) == (0..<11).map { "m\($0)" })
    }

    @Test("a really full disk (a 64 KiB tmpfs) degrades to memory without a crash, and comes back once drained")
    func fullDisk() throws {
        let mount: TmpfsMount
        do { mount = try TmpfsMount(sizeBytes: 64 << 10) } catch {
            print("skipped: \(error)")
            return
        }
        let dir = mount.path + "/outbox"
        let o = open(dir, sync: .batch, segmentBytes: 16 << 10, diskRetry: 0.2)
        for i in 0..<600 { o.append(message("m\(i)", bytes: 250)) }
        #expect(o.stats.storage == .memory)
        #expect(o.stats.events == 600 && o.stats.dropped == 0)
        #expect(logs.lines.filter { $0.level == .error }.count == 1, "\(logs.lines.map(\.message))")
        #expect(logs.lines.contains { $0.message.contains("No space left on device") })
        // Delivered meanwhile: the space the old files hold can be given back.
        o.beginSession()
        while let t = o.next(backlogAllowed: true) { o.acknowledge([t.id]) }
        Thread.sleep(forTimeInterval: 0.3)
        o.append(message("later"))
        #expect(o.stats.storage == .disk)
        o.close()
        let again = open(dir)
        defer { again.close() }
        #expect(again.messages.map(name) == ["later"])
    }

    @Test("on a read-only filesystem the entries on disk are still recovered; new ones are kept in memory")
    func readOnlyFilesystem() throws {
        let mount: TmpfsMount
        do { mount = try TmpfsMount(sizeBytes: 1 << 20) } catch {
            print("skipped: \(error)")
            return
        }
        let dir = mount.path + "/outbox"
        let o = open(dir)
        for i in 0..<5 { o.append(message("m\(i)")) }
        o.close()
        try mount.setReadOnly(true)
        defer { try? mount.setReadOnly(false) }
        let ro = open(dir)
        defer { ro.close() }
        #expect(ro.stats.storage == .memory && ro.stats.recovered == 5)
        ro.append(message("m5"))
        #expect(ro.messages.map(name) == (0..<6).map { "m\($0)" })
        #expect(logs.lines.contains { $0.level == .error && $0.message.contains("read-only") })
    }

    @Test("a directory that cannot be created means memory only, with one log line")
    func unusableDirectory() throws {
        let file = try tempDir() + "/not-a-dir"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let o = open(file + "/outbox")
        defer { o.close() }
        o.append(message("m0"))
        #expect(o.stats.storage == .memory && o.stats.events == 1)
        #expect(logs.lines.filter { $0.level == .error }.count == 1)
    }

    // MARK: - Format

    @Test("records round-trip, removal ranges merge consecutive ids, and CRC-32C matches the standard check value")
    func format() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(OutboxFormat.ranges([5, 1, 2, 3, 9, 10, 2]) == [1...3, 5...5, 9...10])
        var bytes = OutboxFormat.header(firstID: 7)
        let m = OutboundMessage(topic: "a/b", payload: [0, 1, 2, 255], qos: 1, retain: true, priority: .summary)
        OutboxFormat.appendEntry(id: 7, m, to: &bytes)
        OutboxFormat.appendRemoval([7, 8], reason: .acknowledged, to: &bytes)
        let scan = OutboxFormat.scan(bytes)
        #expect(scan.firstID == 7 && scan.tornTail == 0 && scan.validEnd == bytes.count)
        #expect(scan.records == [.entry(id: 7, message: m), .removal(reason: 1, ranges: [7...8])])
        #expect(OutboxFormat.entrySize(m) == bytes.count - OutboxFormat.headerSize - (OutboxFormat.frameHeaderSize + 6 + 16))
    }
}
