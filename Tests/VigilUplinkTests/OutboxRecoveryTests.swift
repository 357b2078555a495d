import Foundation
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// Damaged and crafted outbox files (issue 15, defects 4, 6 and 7): records survive a damaged header,
/// impossible ids never trap, every loss is counted, and one directory serves one process.
@Suite("Outbox recovery")
struct OutboxRecoveryTests {
    let logs = LogCapture()

    private func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-recovery-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    private func message(_ name: String) -> OutboundMessage {
        OutboundMessage(topic: "vigil/t/anomaly/c", payload: Array(name.utf8), qos: 1, priority: .event)
    }

    private func open(_ dir: String) -> Outbox {
        Outbox(settings: .init(directory: dir, sync: .everyEvent), logger: logs.logger())
    }

    private func names(_ o: Outbox) -> [String] { o.messages.map { String(decoding: $0.payload, as: UTF8.self) } }

    /// Twenty entries m0…m19 in one closed segment; returns its path.
    private func twentyEntries(_ dir: String) throws -> String {
        let o = open(dir)
        for i in 0..<20 { o.append(message("m\(i)")) }
        o.close()
        let segs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".seg") }
        #expect(segs.count == 1)
        return dir + "/" + segs[0]
    }

    private func patch(_ path: String, at offset: Int, _ bytes: [UInt8]) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        for (i, b) in bytes.enumerated() { data[offset + i] = b }
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test("one flipped bit in a segment's header loses nothing: the records are recovered by their checksums, the file set aside and counted",
          arguments: [2, 7])
    func flippedHeaderBit(offset: Int) throws {
        let dir = try tempDir()
        let path = try twentyEntries(dir)
        try patch(path, at: offset, [(try Data(contentsOf: URL(fileURLWithPath: path)))[offset] ^ 0x04])
        let o = open(dir)
        #expect(names(o) == (0..<20).map { "m\($0)" })
        #expect(o.stats.recovered == 20 && o.stats.storage == .disk)
        #expect(o.stats.recoveryLosses == RecoveryLosses(damagedBytes: 16, segmentsSetAside: 1))
        #expect(FileManager.default.fileExists(atPath: path + ".corrupt"))
        #expect(logs.lines.contains { $0.level == .error && $0.message == "outbox: \(path): damaged header; 20 record(s) recovered by their own checksums; file moved aside as \(path).corrupt" })
        // They were written back to a fresh segment: a second restart still has them, with no new loss.
        o.append(message("after"))
        o.close()
        let again = open(dir)
        defer { again.close() }
        #expect(names(again) == (0..<20).map { "m\($0)" } + ["after"])
        #expect(again.stats.recoveryLosses == RecoveryLosses())
    }

    @Test("a header first-id of 0xFF×8 does not trap: the agent starts, keeps the records, and appends after them")
    func maximalFirstID() throws {
        let dir = try tempDir()
        let path = try twentyEntries(dir)
        try patch(path, at: 8, [UInt8](repeating: 0xFF, count: 8))
        for round in 0..<2 {
            let o = open(dir)
            #expect(names(o) == (0..<20).map { "m\($0)" } + (0..<round).map { "x\($0)" })
            o.append(message("x\(round)"))
            #expect(o.stats.appended == 1)
            o.close()
        }
        #expect(FileManager.default.fileExists(atPath: path + ".corrupt"))
    }

    @Test("a checksum-valid record with id 2^64−1 does not trap: it is dropped and counted, the others kept, the file set aside")
    func maximalRecordID() throws {
        let dir = try tempDir()
        let path = try twentyEntries(dir)
        var forged: [UInt8] = []
        OutboxFormat.appendEntry(id: .max, message("forged"), to: &forged)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data(forged))
        try h.close()
        for round in 0..<2 {
            let o = open(dir)
            #expect(names(o) == (0..<20).map { "m\($0)" } + (0..<round).map { "x\($0)" })
            if round == 0 {
                #expect(o.stats.recoveryLosses == RecoveryLosses(impossibleIDs: 1, segmentsSetAside: 1))
                #expect(logs.lines.contains { $0.message.contains("recovery lost 1 record(s) (0 in 0 damaged byte(s), 1 with an impossible id); 1 file(s) set aside as .corrupt") })
            }
            o.append(message("x\(round)"))
            o.close()
        }
    }

    @Test("a damaged record in the middle is counted as a lost record, with its bytes")
    func damagedMiddleIsCounted() throws {
        let dir = try tempDir()
        let path = try twentyEntries(dir)
        let size = OutboxFormat.entrySize(message("m10"))
        // Record 10 follows ten records of m0…m9's size: damage its payload's last byte.
        try patch(path, at: OutboxFormat.headerSize + 10 * OutboxFormat.entrySize(message("m0")) + size - 1, [0xEE])
        let o = open(dir)
        defer { o.close() }
        #expect(names(o) == (0..<20).filter { $0 != 10 }.map { "m\($0)" })
        #expect(o.stats.recoveryLosses == RecoveryLosses(damagedBytes: size, damagedRecords: 1))
    }

    @Test("a second outbox on a held directory is refused, naming the holder's pid; the first keeps working")
    func exclusiveDirectory() throws {
        let dir = try tempDir()
        let first = try Outbox.open(settings: .init(directory: dir), logger: logs.logger())
        defer { first.close() }
        #expect(throws: Outbox.DirectoryInUse(directory: dir, pid: getpid())) {
            _ = try Outbox.open(settings: .init(directory: dir), logger: logs.logger())
        }
        #expect("\(Outbox.DirectoryInUse(directory: dir, pid: 42))" == "outbox \(dir) is in use by another vigil process (pid 42); give each agent its own mqtt.outbox.dir")
        first.append(message("still"))
        #expect(first.stats.storage == .disk)
        // Once the first one closes, the directory is free again.
        first.close()
        let next = try Outbox.open(settings: .init(directory: dir), logger: logs.logger())
        defer { next.close() }
        #expect(names(next) == ["still"])
    }
}
