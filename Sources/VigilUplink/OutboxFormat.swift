import VigilCore

/// The outbox's file format: append-only segment files of checksummed records.
///
/// ```
/// segment   = header record*
/// header    = "VIGILOB1" first-id:u64                        16 bytes
/// record    = magic:u32 length:u32 crc:u32 body[length]      crc = CRC-32C over length and body
/// body      = 0x01 id:u64 priority:u8 qos:u8 retain:u8 topic-length:u16 topic payload    an entry
///           | 0x02 reason:u8 count:u32 (first-id:u64 last-id:u64){count}                   entries removed
/// ```
/// All integers little-endian; priority is 0 summary, 1 event, 2 health (an unknown value reads as event).
/// A record is written with one `write(2)`; a power cut can tear only the tail,
/// which fails its length or checksum and is cut off at recovery. A damaged record in the middle (a bad
/// sector) is skipped by searching for the next magic whose record checks out, so older and later records
/// survive. An entry is live from its record until a removal record names its id; a segment file is deleted
/// once it and every older segment hold no live entry.
enum OutboxFormat {
    static let fileMagic: [UInt8] = Array("VIGILOB1".utf8)
    static let headerSize = 16
    static let recordMagic: UInt32 = 0x5245_4356 // "VCER" read little-endian
    static let frameHeaderSize = 12
    /// Bodies above this are corruption, not data (a message is at most a few kilobytes).
    static let maxBodySize = 16 << 20
    static let entryType: UInt8 = 1
    static let removalType: UInt8 = 2
    /// Ids above this are damage or forgery, not data (ids count up from 1, one per message): a segment
    /// holding one is set aside, so an id never comes near the top of `UInt64` and `+ 1` cannot trap.
    static let maxID: UInt64 = 1 << 62
    /// Bytes an entry record takes besides its topic and payload.
    static let entryOverhead = frameHeaderSize + 1 + 8 + 3 + 2

    enum RemovalReason: UInt8 {
        case acknowledged = 1
        case dropped = 2
    }

    enum Record: Equatable {
        case entry(id: UInt64, message: OutboundMessage)
        case removal(reason: UInt8, ranges: [ClosedRange<UInt64>])
    }

    static func header(firstID: UInt64) -> [UInt8] {
        var out = fileMagic
        putU64(firstID, into: &out)
        return out
    }

    /// Size of the entry record for `message` on disk (also its weight in memory for `max_bytes`).
    static func entrySize(_ message: OutboundMessage) -> Int {
        entryOverhead + message.topic.utf8.count + message.payload.count
    }

    static func appendEntry(id: UInt64, _ message: OutboundMessage, to out: inout [UInt8]) {
        let start = beginFrame(&out)
        out.append(entryType)
        putU64(id, into: &out)
        out.append(UInt8(message.priority.rawValue))
        out.append(UInt8(clamping: max(0, message.qos)))
        out.append(message.retain ? 1 : 0)
        let topic = Array(message.topic.utf8)
        putU16(UInt16(clamping: topic.count), into: &out)
        out.append(contentsOf: topic.prefix(Int(UInt16.max)))
        out.append(contentsOf: message.payload)
        endFrame(&out, start: start)
    }

    /// Sorted ids as ranges of consecutive ids.
    static func ranges(_ ids: [UInt64]) -> [ClosedRange<UInt64>] {
        var out: [ClosedRange<UInt64>] = []
        for id in ids.sorted() {
            if let last = out.last, id == last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...id
            } else if let last = out.last, last.contains(id) {
                continue
            } else {
                out.append(id...id)
            }
        }
        return out
    }

    static func appendRemoval(_ ids: [UInt64], reason: RemovalReason, to out: inout [UInt8]) {
        guard !ids.isEmpty else { return }
        let rs = ranges(ids)
        let start = beginFrame(&out)
        out.append(removalType)
        out.append(reason.rawValue)
        putU32(UInt32(rs.count), into: &out)
        for r in rs {
            putU64(r.lowerBound, into: &out)
            putU64(r.upperBound, into: &out)
        }
        endFrame(&out, start: start)
    }

    private static func beginFrame(_ out: inout [UInt8]) -> Int {
        let start = out.count
        putU32(recordMagic, into: &out)
        putU32(0, into: &out) // length, patched
        putU32(0, into: &out) // crc, patched
        return start
    }

    private static func endFrame(_ out: inout [UInt8], start: Int) {
        let bodyStart = start + frameHeaderSize
        let length = UInt32(out.count - bodyStart)
        withUnsafeBytes(of: length.littleEndian) { lengthBytes in
            for i in 0..<4 { out[start + 4 + i] = lengthBytes[i] }
        }
        let crc = out.withUnsafeBytes { buf in
            CRC32C.update(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: buf[(start + 4)..<(start + 8)])),
                          UnsafeRawBufferPointer(rebasing: buf[bodyStart...]))
        }
        withUnsafeBytes(of: crc.littleEndian) { crcBytes in
            for i in 0..<4 { out[start + 8 + i] = crcBytes[i] }
        }
    }

    // MARK: - Reading

    /// What a segment file holds, as far as it can be trusted.
    struct Scan {
        /// The header's first id; nil when the file is too short for a header, or the header is damaged.
        var firstID: UInt64?
        /// The header is not ours (bad magic) or names an impossible first id; records were still read by
        /// their own checksums.
        var headerDamaged = false
        var records: [Record] = []
        /// Bytes up to the end of the last good record: where appending may continue.
        var validEnd: Int
        /// Damaged stretches that were skipped because good records follow: (offset, length).
        var skipped: [(offset: Int, length: Int)] = []
        /// Bytes after `validEnd` that do not form a good record (a torn or damaged tail).
        var tornTail: Int = 0
        /// Records lost in the skipped stretches and the tail: the record starts (magics) found in them, at
        /// least one per stretch.
        var lostRecords: Int = 0
    }

    /// Record starts in `buf[range]`, at least 1 (a damaged stretch held at least part of one record).
    private static func recordStarts(_ buf: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int {
        var n = 0
        var i = range.lowerBound
        while i + 4 <= range.upperBound {
            if readU32(buf, i) == recordMagic { n += 1; i += 4 } else { i += 1 }
        }
        return max(n, 1)
    }

    static func scan(_ bytes: [UInt8]) -> Scan {
        bytes.withUnsafeBytes { scan($0) }
    }

    static func scan(_ buf: UnsafeRawBufferPointer) -> Scan {
        guard buf.count >= headerSize else {
            return Scan(firstID: nil, validEnd: 0, tornTail: buf.count)
        }
        let firstID = readU64(buf, 8)
        var result = Scan(firstID: firstID, validEnd: headerSize)
        if Array(buf[0..<8]) != fileMagic || firstID > maxID {
            result.firstID = nil
            result.headerDamaged = true
        }
        var offset = headerSize
        while offset < buf.count {
            if let (record, next) = decodeRecord(buf, at: offset) {
                if let record { result.records.append(record) }
                offset = next
                result.validEnd = next
                continue
            }
            // Damaged here: resynchronise on the next magic that starts a good record, if any.
            var probe = offset + 1
            var resumed = false
            while probe + frameHeaderSize <= buf.count {
                if readU32(buf, probe) == recordMagic, decodeRecord(buf, at: probe) != nil {
                    result.skipped.append((offset, probe - offset))
                    result.lostRecords += recordStarts(buf, offset..<probe)
                    offset = probe
                    resumed = true
                    break
                }
                probe += 1
            }
            if !resumed {
                result.tornTail = buf.count - offset
                result.lostRecords += recordStarts(buf, offset..<buf.count)
                break
            }
        }
        return result
    }

    /// The record at `offset` and where the next one starts; nil when it is torn or damaged.
    /// An intact record of an unknown type decodes to (nil, next) so newer files stay readable.
    private static func decodeRecord(_ buf: UnsafeRawBufferPointer, at offset: Int) -> (Record?, Int)? {
        guard offset + frameHeaderSize <= buf.count, readU32(buf, offset) == recordMagic else { return nil }
        let length = Int(readU32(buf, offset + 4))
        guard length >= 1, length <= maxBodySize, offset + frameHeaderSize + length <= buf.count else { return nil }
        let bodyStart = offset + frameHeaderSize
        let crc = CRC32C.update(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: buf[(offset + 4)..<(offset + 8)])),
                                UnsafeRawBufferPointer(rebasing: buf[bodyStart..<(bodyStart + length)]))
        guard crc == readU32(buf, offset + 8) else { return nil }
        let next = bodyStart + length
        let body = UnsafeRawBufferPointer(rebasing: buf[bodyStart..<next])
        switch body[0] {
        case entryType:
            guard body.count >= 15 else { return nil }
            let id = readU64(body, 1)
            let priority = OutboundMessage.Priority(rawValue: Int(body[9])) ?? .event
            let qos = Int32(body[10])
            let retain = body[11] != 0
            let topicLength = Int(readU16(body, 12))
            guard 14 + topicLength <= body.count else { return nil }
            let topic = String(decoding: UnsafeRawBufferPointer(rebasing: body[14..<(14 + topicLength)]), as: UTF8.self)
            let payload = Array(body[(14 + topicLength)...])
            return (.entry(id: id, message: OutboundMessage(topic: topic, payload: payload, qos: qos, retain: retain,
                                                             priority: priority)), next)
        case removalType:
            guard body.count >= 6 else { return nil }
            let reason = body[1]
            let count = Int(readU32(body, 2))
            guard body.count == 6 + count * 16 else { return nil }
            var ranges: [ClosedRange<UInt64>] = []
            ranges.reserveCapacity(count)
            for i in 0..<count {
                let a = readU64(body, 6 + i * 16), b = readU64(body, 14 + i * 16)
                guard a <= b else { return nil }
                ranges.append(a...b)
            }
            return (.removal(reason: reason, ranges: ranges), next)
        default:
            return (nil, next)
        }
    }

    // MARK: - Little-endian helpers

    static func putU16(_ v: UInt16, into out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    static func putU32(_ v: UInt32, into out: inout [UInt8]) {
        for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }

    static func putU64(_ v: UInt64, into out: inout [UInt8]) {
        for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }

    static func readU16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(b[at]) | UInt16(b[at + 1]) << 8
    }

    static func readU32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(b[at + i]) << UInt32(8 * i) }
        return v
    }

    static func readU64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[at + i]) << UInt64(8 * i) }
        return v
    }
}

/// CRC-32C (Castagnoli), the checksum of ext4 metadata, iSCSI and SCTP; table-driven, one byte at a time.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// Continues `crc` (0 to start) over `bytes`.
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }
}
