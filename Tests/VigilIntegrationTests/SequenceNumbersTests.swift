import Foundation
import Logging
import Testing
@testable import VigilAgent

/// Sequence numbers never repeat and never go back (issue 15, defects 4 and 5): one process per file, and
/// a disk that fails for a while still leaves the next run above every number given.
@Suite("Sequence numbers")
struct SequenceNumbersTests {
    private func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-seq-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    private let logger = Logger(label: "vigil.seq.test")

    @Test("two objects on one file never give the same number, and the next run starts above both")
    func twoHoldersNeverShareNumbers() throws {
        let path = try tempDir() + "/sequence"
        let a = SequenceNumbers(path: path, block: 10, logger: logger)
        let b = SequenceNumbers(path: path, block: 10, logger: logger)
        var fromA: [UInt64] = [], fromB: [UInt64] = []
        for _ in 0..<35 { fromA.append(a.next()); fromB.append(b.next()) }
        #expect(Set(fromA).isDisjoint(with: fromB), "reissued: \(Set(fromA).intersection(fromB).sorted())")
        b.close()
        a.close()
        let again = SequenceNumbers(path: path, block: 10, logger: logger)
        #expect(again.upcoming == fromA.max()! + 1)
    }

    @Test("open refuses a file another holder has locked, naming its pid")
    func openRefusesAHeldFile() throws {
        let path = try tempDir() + "/sequence"
        let a = try SequenceNumbers.open(path: path, logger: logger)
        #expect(throws: SequenceNumbers.SequenceFileInUse(path: path, pid: getpid())) {
            _ = try SequenceNumbers.open(path: path, logger: logger)
        }
        a.close()
        _ = try SequenceNumbers.open(path: path, logger: logger)
    }

    @Test("when no new file can be made (a full disk), the number is saved in place: no jump, and the next run starts above")
    func fullDiskSavesInPlace() throws {
        let dir = try tempDir()
        let path = dir + "/sequence"
        let s = SequenceNumbers(path: path, block: 10, logger: logger)
        for _ in 0..<5 { _ = s.next() }
        // The temporary file cannot be created (a directory is in its way), as on a full disk.
        try FileManager.default.createDirectory(atPath: path + ".tmp", withIntermediateDirectories: false)
        var issued: [UInt64] = []
        for _ in 0..<25 { issued.append(s.next()) }
        #expect(issued == Array(6...30))
        try FileManager.default.removeItem(atPath: path + ".tmp")
        s.abandon() // killed: no close
        let next = try SequenceNumbers.open(path: path, block: 10, logger: logger)
        #expect(next.upcoming > issued.max()!, "next run starts at \(next.upcoming), below \(issued.max()!)")
    }

    @Test("when nothing can be written, numbers come from the clock and are saved once the disk is back (at the next block or retry)",
          arguments: [false, true])
    func readOnlyPeriodIsRecordedLater(timeBased: Bool) throws {
        let path = try tempDir() + "/sequence"
        let clock = SequenceNumbers.clockStart()
        let s = try SequenceNumbers.open(path: path, block: 10, logger: logger, retryInterval: timeBased ? .zero : .seconds(3600),
                                         injecting: .everything)
        var issued: [UInt64] = []
        for _ in 0..<5 { issued.append(s.next()) }
        #expect(issued.allSatisfy { $0 >= clock })
        #expect(!s.isRecorded)
        s.inject(nil)
        // The next block (or, with a retry interval of zero, the next number) writes the file again.
        for _ in 0..<(timeBased ? 1 : 10) { issued.append(s.next()) }
        #expect(s.isRecorded)
        s.abandon() // killed: no close
        let next = try SequenceNumbers.open(path: path, block: 10, logger: logger)
        #expect(next.upcoming > issued.max()!)
        #expect(issued == issued.sorted() && Set(issued).count == issued.count)
    }
}
