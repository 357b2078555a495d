import Testing
@testable import VigilSources

@Suite struct DHTDecoderTests {
    static func reading(_ t: Double, _ h: Double) -> Result<DHTReading, DHTFailure> {
        .success(DHTReading(temperature: t, humidity: h))
    }

    static func trace(_ t: Double, _ h: Double, _ model: DHTModel = .dht22,
                      jitter: Int64 = 0, seed: UInt64 = 0) -> [DHTEdge] {
        DHTTrace.frame(bytes: DHTTrace.bytes(temperature: t, humidity: h, model: model), model: model,
                       startNanos: 1_700_000_000_000_000_000, jitterNanos: jitter, seed: seed)
    }

    // MARK: clean frames

    @Test func cleanDHT22() {
        let bytes = DHTTrace.bytes(temperature: 23.4, humidity: 41.2, model: .dht22)
        #expect(bytes == [0x01, 0x9C, 0x00, 0xEA, 0x87])
        let edges = DHTTrace.frame(bytes: bytes, model: .dht22)
        #expect(edges.count == 85)
        #expect(DHTDecoder.decode(edges, model: .dht22) == Self.reading(23.4, 41.2))
    }

    @Test func cleanDHT22Negative() {
        let bytes = DHTTrace.bytes(temperature: -5.3, humidity: 87.9, model: .dht22)
        #expect(bytes == [0x03, 0x6F, 0x80, 0x35, 0x27])
        #expect(DHTDecoder.decode(DHTTrace.frame(bytes: bytes, model: .dht22), model: .dht22)
                == Self.reading(-5.3, 87.9))
    }

    @Test(arguments: [(-40.0, 0.0), (80.0, 100.0), (0.1, 55.5), (-0.1, 3.0), (25.6, 25.6), (-12.8, 99.9)])
    func dht22Range(t: Double, h: Double) {
        #expect(DHTDecoder.decode(Self.trace(t, h), model: .dht22) == Self.reading(t, h))
    }

    @Test func cleanDHT11() {
        // A DHT11 sends integers with zero decimals: 45 %RH, 22 °C.
        let bytes: [UInt8] = [45, 0, 22, 0, 67]
        #expect(DHTDecoder.decode(DHTTrace.frame(bytes: bytes, model: .dht11), model: .dht11)
                == Self.reading(22, 45))
        // Newer DHT11s fill in the tenths.
        #expect(DHTDecoder.decode(Self.trace(24.7, 38, .dht11), model: .dht11) == Self.reading(24.7, 38))
        #expect(DHTDecoder.decode(Self.trace(0, 20, .dht11), model: .dht11) == Self.reading(0, 20))
        #expect(DHTDecoder.decode(Self.trace(50, 90, .dht11), model: .dht11) == Self.reading(50, 90))
    }

    @Test func bytesOnly() {
        #expect(DHTDecoder.decode(bytes: [0x01, 0x9C, 0x00, 0xEA, 0x87], model: .dht22) == Self.reading(23.4, 41.2))
        #expect(DHTDecoder.decode(bytes: [0x01, 0x9C, 0x00, 0xEA], model: .dht22) == .failure(.shortFrame))
    }

    // MARK: jitter

    /// Readings spread over the range, each frame with its own seed: every one decodes exactly.
    @Test(arguments: [Int64(10_000), 20_000])
    func jitter(jitter: Int64) {
        var failures = 0
        for i in 0..<500 {
            let t22 = Double(i * 7 % 1200 - 400) / 10   // −40.0 … 79.9
            let h22 = Double(i * 13 % 1001) / 10         // 0.0 … 100.0
            if !(abs(t22) <= 1 && (1...2).contains(h22)) {
                let got = DHTDecoder.decode(Self.trace(t22, h22, jitter: jitter, seed: UInt64(i)), model: .dht22)
                if got != Self.reading(t22, h22) { failures += 1 }
            }
            let t11 = Double(i % 51)
            let h11 = Double(20 + i % 71)
            let got11 = DHTDecoder.decode(Self.trace(t11, h11, .dht11, jitter: jitter, seed: UInt64(10_000 + i)),
                                          model: .dht11)
            if got11 != Self.reading(t11, h11) { failures += 1 }
        }
        #expect(failures == 0)
    }

    @Test func jitterIsSeeded() {
        #expect(Self.trace(23.4, 41.2, jitter: 20_000, seed: 7) == Self.trace(23.4, 41.2, jitter: 20_000, seed: 7))
        #expect(Self.trace(23.4, 41.2, jitter: 20_000, seed: 7) != Self.trace(23.4, 41.2, jitter: 20_000, seed: 8))
    }

    // MARK: missing preamble

    /// The capture started late: release, response low and response high (or parts of them) lost.
    @Test(arguments: [1, 2, 3, 4])
    func missingPreamble(dropped: Int) {
        for jitter: Int64 in [0, 10_000, 20_000] {
            for seed: UInt64 in 0..<20 {
                let edges = Self.trace(23.4, 41.2, jitter: jitter, seed: seed).dropFirst(dropped)
                #expect(DHTDecoder.decode(edges, model: .dht22) == Self.reading(23.4, 41.2))
            }
        }
    }

    /// Only the 80 data edges (and the final rising edge, or not).
    @Test func onlyDataEdges() {
        let edges = Self.trace(-5.3, 41.2)
        #expect(DHTDecoder.decode(edges[4..<84], model: .dht22) == Self.reading(-5.3, 41.2))
        #expect(DHTDecoder.decode(edges[4...], model: .dht22) == Self.reading(-5.3, 41.2))
        // The final rising edge is not needed either.
        #expect(DHTDecoder.decode(edges.dropLast(), model: .dht22) == Self.reading(-5.3, 41.2))
    }

    /// The host's own start pulse in the capture: a long low, then the release.
    @Test func startPulseCaptured() {
        var edges = [DHTEdge(nanos: 0, rising: false)]
        edges += DHTTrace.frame(bytes: DHTTrace.bytes(temperature: 23.4, humidity: 41.2, model: .dht22),
                                model: .dht22, startNanos: 1_000_000, jitterNanos: 10_000, seed: 3)
        #expect(DHTDecoder.decode(edges, model: .dht22) == Self.reading(23.4, 41.2))
    }

    // MARK: duplicated and merged edges

    /// Every edge in turn reported twice, 2 µs apart.
    @Test func duplicatedEdge() {
        for jitter: Int64 in [0, 10_000] {
            let edges = Self.trace(-5.3, 41.2, jitter: jitter, seed: 11)
            for i in edges.indices {
                var copy = edges
                copy.insert(DHTEdge(nanos: edges[i].nanos + 2_000, rising: edges[i].rising), at: i + 1)
                #expect(DHTDecoder.decode(copy, model: .dht22) == Self.reading(-5.3, 41.2), "edge \(i)")
            }
        }
    }

    /// One data edge lost (two risings or two fallings in a row): the bit is recovered from the interval.
    @Test func mergedEdge() {
        let edges = Self.trace(23.4, 41.2)
        for i in 4..<84 {
            var copy = edges
            copy.remove(at: i)
            #expect(DHTDecoder.decode(copy, model: .dht22) == Self.reading(23.4, 41.2), "edge \(i)")
        }
    }

    /// Two edges lost in a row: the gap cannot be split into bits, so the frame is short.
    @Test func twoEdgesLost() {
        var edges = Self.trace(23.4, 41.2)
        edges.removeSubrange(40..<43)
        #expect(DHTDecoder.decode(edges, model: .dht22) == .failure(.shortFrame))
    }

    // MARK: truncated frames, checksums, timeouts

    @Test func truncated() {
        let edges = Self.trace(23.4, 41.2)
        // Losing the last bit's falling edge (or more) leaves fewer than 40 bits.
        for cut in 2...60 {
            #expect(DHTDecoder.decode(edges.dropLast(cut), model: .dht22) == .failure(.shortFrame), "cut \(cut)")
        }
        // Data lost at the front, preamble gone.
        for cut in [6, 10, 40] {
            #expect(DHTDecoder.decode(edges.dropFirst(cut), model: .dht22) == .failure(.shortFrame), "cut \(cut)")
        }
        // Bytes cut short by the generator.
        let short = DHTTrace.frame(bytes: [0x01, 0x9C, 0x00, 0xEA], model: .dht22, jitterNanos: 20_000, seed: 1)
        #expect(DHTDecoder.decode(short, model: .dht22) == .failure(.shortFrame))
    }

    @Test func badChecksum() {
        for bytes: [UInt8] in [[0x01, 0x9C, 0x00, 0xEA, 0x88], [0x01, 0x9C, 0x00, 0xEA, 0x00],
                               [0x01, 0x9D, 0x00, 0xEA, 0x87], [0x00, 0x00, 0x00, 0x00, 0xFF]] {
            for seed: UInt64 in 0..<5 {
                let edges = DHTTrace.frame(bytes: bytes, model: .dht22, jitterNanos: 10_000, seed: seed)
                #expect(DHTDecoder.decode(edges, model: .dht22) == .failure(.checksum))
                #expect(DHTDecoder.decode(edges, model: .dht11) == .failure(.checksum))
            }
        }
    }

    @Test func timeout() {
        #expect(DHTDecoder.decode([DHTEdge](), model: .dht22) == .failure(.timeout))
        #expect(DHTDecoder.decode(Self.trace(23.4, 41.2).prefix(1), model: .dht22) == .failure(.timeout))
        #expect(DHTDecoder.decode(Self.trace(23.4, 41.2).prefix(3), model: .dht11) == .failure(.timeout))
        #expect(DHTDecoder.decode(Self.trace(23.4, 41.2).prefix(4), model: .dht22) == .failure(.shortFrame))
    }

    // MARK: plausibility

    @Test func outOfRange() {
        func frame(_ b: [UInt8]) -> [DHTEdge] {
            DHTTrace.frame(bytes: b + [DHTTrace.checksum(b)], model: .dht22)
        }
        // DHT22: 80.1 °C, −40.1 °C, 100.1 %RH.
        #expect(DHTDecoder.decode(frame([0x01, 0x9C, 0x03, 0x21]), model: .dht22) == .failure(.implausible))
        #expect(DHTDecoder.decode(frame([0x01, 0x9C, 0x81, 0x91]), model: .dht22) == .failure(.implausible))
        #expect(DHTDecoder.decode(frame([0x03, 0xE9, 0x00, 0xEA]), model: .dht22) == .failure(.implausible))
        // DHT11: 51 °C, 19 %RH, 91 %RH, −1 °C.
        #expect(DHTDecoder.decode(frame([45, 0, 51, 0]), model: .dht11) == .failure(.implausible))
        #expect(DHTDecoder.decode(frame([19, 0, 22, 0]), model: .dht11) == .failure(.implausible))
        #expect(DHTDecoder.decode(frame([91, 0, 22, 0]), model: .dht11) == .failure(.implausible))
        #expect(DHTDecoder.decode(frame([45, 0, 1, 0x80]), model: .dht11) == .failure(.implausible))
        // The same DHT22 frame bytes read as DHT11 (humidity 1 %RH) are implausible too.
        #expect(DHTDecoder.decode(frame([0x01, 0x9C, 0x00, 0xEA]), model: .dht11) == .failure(.implausible))
    }

    @Test func fakeReadings() {
        // 0 or 1 °C with 1–2 %RH, from all-but-zero frames, and the all-zero frame.
        for b: [UInt8] in [[0, 10, 0, 0], [0, 20, 0, 0], [0, 10, 0, 10], [0, 20, 0, 10], [0, 15, 0, 5],
                           [0, 10, 0x80, 10], [0, 0, 0, 0]] {
            let edges = DHTTrace.frame(bytes: b + [DHTTrace.checksum(b)], model: .dht22, jitterNanos: 10_000, seed: 5)
            #expect(DHTDecoder.decode(edges, model: .dht22) == .failure(.implausible), "\(b)")
        }
        for b: [UInt8] in [[1, 0, 0, 0], [2, 0, 1, 0], [1, 0, 1, 0]] {
            let edges = DHTTrace.frame(bytes: b + [DHTTrace.checksum(b)], model: .dht11)
            #expect(DHTDecoder.decode(edges, model: .dht11) == .failure(.implausible), "\(b)")
        }
        // Nearby real readings still pass: 1.1 °C at 2 %RH, 0.5 °C at 2.1 %RH.
        #expect(DHTDecoder.decode(Self.trace(1.1, 2), model: .dht22) == Self.reading(1.1, 2))
        #expect(DHTDecoder.decode(Self.trace(0.5, 2.1), model: .dht22) == Self.reading(0.5, 2.1))
    }
}
