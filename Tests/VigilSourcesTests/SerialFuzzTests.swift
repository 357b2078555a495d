import Testing
import VigilCore
@testable import VigilSources

/// Bounded, seeded property tests of the splitter and parser together.
@Suite struct SerialFuzzTests {
    struct Emitted: Equatable {
        var bytes: [UInt8]
        var kind: LineParser.LineKind
        var values: [Double]
        static func == (a: Emitted, b: Emitted) -> Bool { a.bytes == b.bytes && a.kind == b.kind && sameValues(a.values, b.values) }
    }

    /// Feeds `stream` in chunks cut at `cuts`; returns every line with its parse.
    static func run(_ stream: [UInt8], cuts: [Int], splitter: LineSplitter, parser: LineParser) -> [Emitted] {
        var out: [Emitted] = []
        var start = 0
        for end in cuts + [stream.count] where end >= start {
            splitter.feed(stream[start..<end]) { line in
                #expect(line.count <= splitter.maxLineLength)
                let kind = parser.parse(line)
                out.append(Emitted(bytes: Array(line), kind: kind, values: kind == .data ? parser.values : []))
            }
            #expect(splitter.bufferedCount <= splitter.maxLineLength)
            start = end
        }
        return out
    }

    static func randomCuts(_ n: Int, _ rng: inout SerialRNG) -> [Int] {
        var cuts: [Int] = []
        var at = 0
        while at < n {
            at += Int.random(in: 1...40, using: &rng)
            if at < n { cuts.append(at) }
        }
        return cuts
    }

    @Test func randomBytesNeverCrashAndMemoryStaysBounded() {
        var rng = SerialRNG(seed: 0x5E71A1)
        let syntax = Array("t=h,snd;:{}\"[]0123456789.-+eE nainf\t\r\n\\u".utf8)
        var total = 0
        for format in SerialLineFormat.allCases {
            let splitter = LineSplitter(maxLineLength: 64)
            let parser = LineParser(format: format, fields: espFields, maxLineLength: 64)
            for _ in 0..<500 {
                let n = Int.random(in: 0...300, using: &rng)
                let bytes: [UInt8] = (0..<n).map { _ in
                    Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : syntax.randomElement(using: &rng)!
                }
                let lines = Self.run(bytes, cuts: Self.randomCuts(n, &rng), splitter: splitter, parser: parser)
                for l in lines where l.kind == .data { #expect(l.values.count == espFields.count) }
                #expect(parser.takeNewUnknownFields().count <= 32)
                total += 1
            }
            let c = parser.counters
            #expect(c.lines == c.dataLines + c.badLines + c.garbageLines + c.headerLines)
            #expect(c.readings + c.missing == c.dataLines * espFields.count)
        }
        #expect(total == 2_000)
    }

    /// Random readings rendered as a device would print them, between bursts of noise and overlong
    /// junk, fed in random chunks: every well-formed line comes out with exactly the values it was
    /// made from, and the same as when it is parsed whole; the chunking changes nothing.
    @Test func wellFormedLinesInNoiseParseExactlyAsWhole() {
        var rng = SerialRNG(seed: 2026)
        let names = espFields.map(\.field)
        let formats: [SerialLineFormat] = [.kv, .json, .csv, .semicolon]
        for iteration in 0..<2_000 {
            let format = formats[iteration % formats.count]
            let columns: [String]? = format == .csv || format == .semicolon ? names : nil
            let formatter = SerialLineFormatter(format: format, fields: names, lineEnding: "")
            var stream: [UInt8] = []
            var good: [(bytes: [UInt8], values: [Double])] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<6:
                    var values: [Double?] = names.map { _ in Self.randomValue(&rng) }
                    if values.allSatisfy({ $0 == nil }) { values[0] = 1.25 }
                    let text = Array(formatter.line(values).utf8)
                    stream += text
                    stream += [["\n"], ["\r\n"], ["\r"]][Int.random(in: 0..<3, using: &rng)].flatMap { Array($0.utf8) }
                    good.append((text, values.map { $0 ?? .nan }.map { $0.isFinite ? $0 : .nan }))
                case 6..<9:
                    stream += (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    stream.append(0x0A)
                default:
                    stream += (0..<Int.random(in: 129...400, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
                    stream.append(0x0A)
                }
            }
            let whole = Self.run(stream, cuts: [], splitter: LineSplitter(maxLineLength: 128),
                                 parser: LineParser(format: format, fields: espFields, csvColumns: columns, maxLineLength: 128))
            let chunked = Self.run(stream, cuts: Self.randomCuts(stream.count, &rng), splitter: LineSplitter(maxLineLength: 128),
                                   parser: LineParser(format: format, fields: espFields, csvColumns: columns, maxLineLength: 128))
            #expect(whole == chunked, "iteration \(iteration)")

            var k = 0
            for e in chunked where k < good.count && e.bytes == good[k].bytes {
                let alone = LineParser(format: format, fields: espFields, csvColumns: columns, maxLineLength: 128)
                let kind = alone.parse(good[k].bytes)
                #expect(kind == .data && e.kind == .data, "iteration \(iteration): \(String(decoding: e.bytes, as: UTF8.self))")
                #expect(sameValues(e.values, alone.values), "iteration \(iteration)")
                #expect(sameValues(e.values, good[k].values), "iteration \(iteration): \(e.values) vs \(good[k].values)")
                k += 1
            }
            #expect(k == good.count, "iteration \(iteration): \(k) of \(good.count) well-formed lines found")
            if k != good.count || whole != chunked { break }
        }
    }

    static func randomValue(_ rng: inout SerialRNG) -> Double? {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: return nil
        case 1: return .nan
        case 2: return Double.random(in: -1...1, using: &rng) * 1e-300
        case 3: return Double.random(in: -1...1, using: &rng) * 1e300
        case 4: return Double(Int.random(in: -1000...1000, using: &rng))
        case 5: return Double(Int.random(in: -99999...99999, using: &rng)) / 100
        default: return Double.random(in: -100...100, using: &rng)
        }
    }
}
