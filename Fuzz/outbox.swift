// libFuzzer target: an outbox segment file as found on disk at start-up (torn, damaged, forged),
// through the pure decoder that recovery uses (OutboxFormat.scan).
// Byte 0 bit 0 set: every frame whose magic and length fit gets a correct CRC-32C first, so the
// fuzzer reaches record decoding instead of stopping at the checksum.
@testable import VigilUplink

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOutbox(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { fixChecksums(&bytes) }
    let scan = OutboxFormat.scan(bytes)
    precondition(scan.validEnd <= bytes.count && scan.validEnd + scan.tornTail <= bytes.count, "scan ran past the file")
    precondition(scan.skipped.allSatisfy { $0.length > 0 && $0.offset + $0.length <= scan.validEnd }, "bad skipped stretch")
    precondition(scan.firstID == nil || scan.firstID! <= OutboxFormat.maxID, "impossible first id accepted")
    // Damage after a whole header counts at least one lost record (a file cut inside its header held none).
    if scan.validEnd >= OutboxFormat.headerSize, scan.tornTail > 0 || !scan.skipped.isEmpty {
        precondition(scan.lostRecords > 0, "damage without a lost record")
    }
    // Every decoded record encodes back to itself.
    var again = OutboxFormat.header(firstID: 1)
    var expected: [OutboxFormat.Record] = []
    for record in scan.records {
        guard case .entry(let id, let message) = record, message.topic.utf8.count <= Int(UInt16.max) else { continue }
        OutboxFormat.appendEntry(id: id, message, to: &again)
        expected.append(record)
    }
    let rescan = OutboxFormat.scan(again)
    precondition(rescan.records == expected && rescan.tornTail == 0 && rescan.validEnd == again.count, "round trip differs")
    return 0
}

/// Rewrites the CRC of each frame that has a magic and a length that fits.
func fixChecksums(_ bytes: inout [UInt8]) {
    var offset = OutboxFormat.headerSize
    bytes.withUnsafeMutableBytes { buf in
        while offset + OutboxFormat.frameHeaderSize <= buf.count {
            let raw = UnsafeRawBufferPointer(buf)
            guard OutboxFormat.readU32(raw, offset) == OutboxFormat.recordMagic else { offset += 1; continue }
            let length = Int(OutboxFormat.readU32(raw, offset + 4))
            let bodyStart = offset + OutboxFormat.frameHeaderSize
            guard length >= 1, bodyStart + length <= buf.count else { offset += 1; continue }
            let crc = CRC32C.update(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 8)])),
                                    UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)]))
            for i in 0..<4 { buf[offset + 8 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
            offset = bodyStart + length
        }
    }
}
