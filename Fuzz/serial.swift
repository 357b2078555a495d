// libFuzzer target: the serial path's bytes → LineSplitter → LineParser, in all four line formats.
// Byte 0 picks the format (and, for csv/semicolon, fixed columns or header-driven) and the chunk
// size the stream is fed in; the rest is what the device sent.
import VigilSources

let fields = [
    SerialFieldMapping(field: "t", channel: "temperature", unit: "°C"),
    SerialFieldMapping(field: "h", channel: "humidity", unit: "%RH"),
    SerialFieldMapping(field: "snd", channel: "sound", unit: "dB", scale: 0.1, offset: -40),
]
let parsers: [LineParser] = [
    LineParser(format: .kv, fields: fields),
    LineParser(format: .json, fields: fields),
    LineParser(format: .csv, fields: fields),
    LineParser(format: .semicolon, fields: fields),
    LineParser(format: .csv, fields: fields, csvColumns: ["ts", "t", "h", "snd"]),
    LineParser(format: .semicolon, fields: fields, csvColumns: ["t", "snd", "h"]),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSerial(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let parser = parsers[Int(data[0] & 0x07) % parsers.count]
    let chunk = Int(data[0] >> 3) + 1  // 1…32 bytes per read()
    let stream = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let splitter = LineSplitter(maxLineLength: 512)
    let before = parser.counters
    var offset = 0
    while offset < stream.count {
        let end = min(offset + chunk, stream.count)
        splitter.feed(UnsafeBufferPointer(rebasing: stream[offset..<end])) { line in
            precondition(line.count <= 512, "the splitter passed an overlong line")
            let kind = parser.parse(line)
            if kind == .data {
                // A data line delivers finite values or NaN (missing), never ±inf.
                for v in parser.values { precondition(v.isNaN || v.isFinite, "infinite reading \(v)") }
            }
        }
        offset = end
    }
    _ = parser.takeNewUnknownFields()
    let c = parser.counters
    let lines = c.lines - before.lines
    let kinds = (c.dataLines - before.dataLines) + (c.badLines - before.badLines)
        + (c.garbageLines - before.garbageLines) + (c.headerLines - before.headerLines)
    precondition(lines == kinds, "every line is counted as exactly one kind")
    precondition((c.readings - before.readings) + (c.missing - before.missing)
        == (c.dataLines - before.dataLines) * parser.channelCount, "each data line gives one value per channel")
    return 0
}
