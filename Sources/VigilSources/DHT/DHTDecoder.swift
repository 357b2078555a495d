// DHT11 / DHT22 (AM2302) frame decoding from GPIO edge events: pure, no I/O, no allocation.
//
// After the host's start pulse the sensor answers with a response preamble (≈80 µs low, ≈80 µs
// high) and then 40 bits, each a ≈50 µs low followed by a high whose width is the bit: ≈26–28 µs
// is 0, ≈70 µs is 1. The frame ends with a ≈50 µs low before the line is released (pulled high).
// Bytes: humidity hi/lo, temperature hi/lo, checksum (sum of the first four, & 0xFF).
//
// The decoder streams over the edges once, keeping only the last 40 bits in a UInt64:
// - each high pulse (rising → falling) is one bit, 1 when wider than `bitThresholdNanos`;
// - a low wider than `longLowNanos` (the host start pulse, the 80 µs response low) marks the start
//   of a new frame: the bits before it are dropped and the high pulse after it (the response high,
//   or the line release after the start pulse) is not a bit;
// - when no preamble was captured the last 40 high pulses are the data (the last 80 edges);
// - two edges of the same type closer than `duplicateWindowNanos` are one edge reported twice (the
//   later one is ignored); further apart, exactly one opposite edge was lost between them, so the
//   interval is one high plus one low and the high width is the interval minus the mean low pulse
//   seen so far (≈50 µs) — unambiguous up to `maxMergedNanos`; longer gaps break the frame.

/// Which sensor sent the frame: they share the wire protocol but not the data format.
public enum DHTModel: String, Sendable, Hashable, CaseIterable {
    case dht11
    /// DHT22 and AM2302.
    case dht22
}

/// One GPIO edge event: kernel timestamp in nanoseconds and the edge direction.
public struct DHTEdge: Sendable, Hashable {
    public var nanos: Int64
    public var rising: Bool

    public init(nanos: Int64, rising: Bool) {
        self.nanos = nanos
        self.rising = rising
    }
}

/// A decoded, checked reading: °C and %RH.
public struct DHTReading: Sendable, Hashable {
    public var temperature: Double
    public var humidity: Double

    public init(temperature: Double, humidity: Double) {
        self.temperature = temperature
        self.humidity = humidity
    }
}

/// Why a read produced no reading. A failed read is a dropped reading, never a made-up value.
public enum DHTFailure: String, Error, Sendable, Hashable, CaseIterable {
    /// No edges, or too few for the sensor to have answered at all.
    case timeout
    /// The sensor answered but fewer than 40 bits could be decoded.
    case shortFrame
    /// 40 bits, but the fifth byte is not the sum of the first four.
    case checksum
    /// A valid frame whose values are out of the sensor's range, or the known fake readings.
    case implausible
}

public enum DHTDecoder {
    /// High pulses wider than this are 1 bits: the midpoint of the nominal 27 µs and 70 µs.
    public static let bitThresholdNanos: Int64 = 48_500
    /// Lows wider than this are not bit lows (≈50 µs) but the response low (80 µs) or the start pulse.
    public static let longLowNanos: Int64 = 75_000
    /// Highs wider than this are not bits (a 1 is ≈70 µs): the line was idle, the frame is broken.
    public static let maxHighNanos: Int64 = 150_000
    /// Same-type edges closer than this are one edge reported twice.
    public static let duplicateWindowNanos: Int64 = 15_000
    /// Same-type edges up to this far apart are one bit with one lost edge between them.
    public static let maxMergedNanos: Int64 = 170_000
    /// Nominal bit low, used for merged edges until lows have been measured.
    public static let nominalLowNanos: Int64 = 50_000
    /// Fewer edges than this: the sensor did not answer.
    public static let minimumEdges = 4

    /// Decodes the edges captured after the host's start pulse, in time order.
    public static func decode(_ edges: some Collection<DHTEdge>, model: DHTModel) -> Result<DHTReading, DHTFailure> {
        // One non-generic loop over contiguous memory: no allocation, however the caller holds them.
        if let r = edges.withContiguousStorageIfAvailable({ decode(buffer: $0, model: model) }) { return r }
        return Array(edges).withUnsafeBufferPointer { decode(buffer: $0, model: model) }
    }

    static func decode(buffer edges: UnsafeBufferPointer<DHTEdge>, model: DHTModel) -> Result<DHTReading, DHTFailure> {
        let mask: UInt64 = (1 << 40) - 1
        var bits: UInt64 = 0
        var bitCount = 0
        var lowSum: Int64 = 0
        var lowCount: Int64 = 0
        var skipNextHigh = false
        var edgeCount = 0
        var previous: DHTEdge?

        func push(_ highNanos: Int64) {
            bits = ((bits << 1) | (highNanos > bitThresholdNanos ? 1 : 0)) & mask
            bitCount += 1
        }
        func restart() {
            bits = 0
            bitCount = 0
        }
        func meanLow() -> Int64 { lowCount > 0 ? lowSum / lowCount : nominalLowNanos }

        for edge in edges {
            edgeCount += 1
            guard let last = previous else {
                previous = edge
                continue
            }
            let gap = edge.nanos - last.nanos
            if gap < 0 {
                // Out of order: nothing before this edge can be trusted.
                restart()
                skipNextHigh = false
                previous = edge
                continue
            }
            if edge.rising != last.rising {
                if last.rising {
                    // High pulse.
                    if gap > maxHighNanos {
                        restart()
                    } else if skipNextHigh {
                        skipNextHigh = false
                    } else {
                        push(gap)
                    }
                } else {
                    // Low pulse.
                    if gap > longLowNanos {
                        restart()
                        skipNextHigh = true
                    } else {
                        lowSum += gap
                        lowCount += 1
                    }
                }
                previous = edge
                continue
            }
            // Two edges of the same type.
            if gap < duplicateWindowNanos {
                continue  // the same edge reported twice: keep the first
            }
            if gap > maxMergedNanos {
                // More than one edge lost: the bits cannot be counted across this gap.
                restart()
                skipNextHigh = false
                previous = edge
                continue
            }
            // One lost edge between: high + low (rising, rising) or low + high (falling, falling).
            if skipNextHigh {
                skipNextHigh = false
            } else {
                push(gap - meanLow())
            }
            previous = edge
        }

        if edgeCount < minimumEdges { return .failure(.timeout) }
        if bitCount < 40 { return .failure(.shortFrame) }

        let b0 = UInt8(truncatingIfNeeded: bits >> 32)
        let b1 = UInt8(truncatingIfNeeded: bits >> 24)
        let b2 = UInt8(truncatingIfNeeded: bits >> 16)
        let b3 = UInt8(truncatingIfNeeded: bits >> 8)
        let b4 = UInt8(truncatingIfNeeded: bits)
        return check(b0, b1, b2, b3, b4, model: model)
    }

    /// Checks and converts the five frame bytes (exposed for recorded frames and the kernel driver).
    public static func decode(bytes: [UInt8], model: DHTModel) -> Result<DHTReading, DHTFailure> {
        guard bytes.count == 5 else { return .failure(.shortFrame) }
        return check(bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], model: model)
    }

    static func check(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8,
                      model: DHTModel) -> Result<DHTReading, DHTFailure> {
        guard b0 &+ b1 &+ b2 &+ b3 == b4 else { return .failure(.checksum) }
        // All zero passes the checksum but is what a dead or stuck sensor sends.
        if b0 | b1 | b2 | b3 == 0 { return .failure(.implausible) }

        let reading: DHTReading
        switch model {
        case .dht22:
            let humidity = Double(Int(b0) << 8 | Int(b1)) / 10
            let magnitude = Double(Int(b2 & 0x7F) << 8 | Int(b3)) / 10
            let temperature = b2 & 0x80 != 0 ? -magnitude : magnitude
            reading = DHTReading(temperature: temperature, humidity: humidity)
            guard (-40...80).contains(temperature), (0...100).contains(humidity) else {
                return .failure(.implausible)
            }
        case .dht11:
            let humidity = Double(b0) + Double(b1) / 10
            let magnitude = Double(b2) + Double(b3 & 0x7F) / 10
            let temperature = b3 & 0x80 != 0 ? -magnitude : magnitude
            reading = DHTReading(temperature: temperature, humidity: humidity)
            guard (0...50).contains(temperature), (20...90).contains(humidity) else {
                return .failure(.implausible)
            }
        }
        // The known fake reading of nearly-all-zero frames: 0 or 1 °C with 1–2 %RH.
        if abs(reading.temperature) <= 1, (1...2).contains(reading.humidity) {
            return .failure(.implausible)
        }
        return .success(reading)
    }
}

/// Realistic DHT edge traces for tests and harnesses (the QEMU pulse generator, benchmarks).
public enum DHTTrace {
    /// Host release after the start pulse until the sensor pulls low.
    public static let releaseNanos: Int64 = 30_000
    /// Response preamble: low, then high.
    public static let responseLowNanos: Int64 = 80_000
    public static let responseHighNanos: Int64 = 80_000
    /// Bit low, and the final low after the last bit.
    public static let bitLowNanos: Int64 = 50_000
    public static let zeroHighNanos: Int64 = 27_000
    public static let oneHighNanos: Int64 = 70_000

    /// The edges the host sees after its start pulse: the rising edge of its release, the sensor's
    /// preamble (80 µs low, 80 µs high), 40 bits (50 µs low, 27 or 70 µs high), the final 50 µs low
    /// and the rising edge of the line going idle: 85 edges. Each pulse width gets an independent
    /// uniform jitter in [−jitterNanos, +jitterNanos] (at least 1 µs remains), reproducible by seed.
    /// `bytes` are sent as given (five bytes, checksum included); see `bytes(…)` to encode a reading.
    public static func frame(bytes: [UInt8], model: DHTModel, startNanos: Int64 = 0,
                             jitterNanos: Int64 = 0, seed: UInt64 = 0) -> [DHTEdge] {
        var random = SplitMix64(seed: seed)
        var t = startNanos
        var edges: [DHTEdge] = []
        edges.reserveCapacity(2 * (bytes.count * 8) + 5)

        func pulse(_ nominal: Int64, thenRising rising: Bool) {
            var width = nominal
            if jitterNanos > 0 {
                let span = UInt64(2 * jitterNanos + 1)
                width += Int64(random.next() % span) - jitterNanos
            }
            t += max(width, 1_000)
            edges.append(DHTEdge(nanos: t, rising: rising))
        }

        edges.append(DHTEdge(nanos: t, rising: true))            // host releases the line
        pulse(releaseNanos, thenRising: false)                   // sensor pulls low
        pulse(responseLowNanos, thenRising: true)
        pulse(responseHighNanos, thenRising: false)
        for byte in bytes {
            for shift in stride(from: 7, through: 0, by: -1) {
                pulse(bitLowNanos, thenRising: true)
                pulse((byte >> UInt8(shift)) & 1 == 1 ? oneHighNanos : zeroHighNanos, thenRising: false)
            }
        }
        pulse(bitLowNanos, thenRising: true)                     // final low, line released
        return edges
    }

    /// The five bytes a sensor sends for a reading (checksum included). DHT22: tenths, sign bit in
    /// the temperature's high byte. DHT11: integer part and tenths, sign bit in the temperature tenths.
    public static func bytes(temperature: Double, humidity: Double, model: DHTModel) -> [UInt8] {
        var b: [UInt8]
        switch model {
        case .dht22:
            let h = Int((humidity * 10).rounded())
            let t = Int((abs(temperature) * 10).rounded())
            b = [UInt8(truncatingIfNeeded: h >> 8), UInt8(truncatingIfNeeded: h),
                 UInt8(truncatingIfNeeded: t >> 8) | (temperature < 0 ? 0x80 : 0), UInt8(truncatingIfNeeded: t)]
        case .dht11:
            let h = Int((humidity * 10).rounded())
            let t = Int((abs(temperature) * 10).rounded())
            b = [UInt8(truncatingIfNeeded: h / 10), UInt8(truncatingIfNeeded: h % 10),
                 UInt8(truncatingIfNeeded: t / 10), UInt8(truncatingIfNeeded: t % 10) | (temperature < 0 ? 0x80 : 0)]
        }
        b.append(checksum(b))
        return b
    }

    /// Sum of the bytes, & 0xFF.
    public static func checksum(_ bytes: [UInt8]) -> UInt8 {
        bytes.reduce(0, &+)
    }
}
