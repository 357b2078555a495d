/// What one read of a DS18B20's `w1_slave` (or `temperature`) gave.
public enum W1Reading: Sendable, Equatable {
    /// A temperature in °C that passed every check.
    case celsius(Double)
    /// The driver said `crc=.. NO`, or the CRC-8 computed here does not match the scratchpad's byte 8.
    case crc(String)
    /// Bytes 0–1 are `50 05` — 85.000 °C, the power-on value of a conversion that never ran.
    case reset
    /// A scratchpad of all `00` (it even passes the CRC) or all `ff`: no sensor answered.
    case noSensor
    /// The file was empty: the driver's own read failed (no presence pulse, CRC failed on all of
    /// its tries, bus busy) — w1_therm then returns 0 bytes instead of an error.
    case empty
    /// Not the w1_slave layout, or `t=` disagrees with the scratchpad.
    case garbage(String)

    /// The counter it goes into (see `DS18B20Source`).
    public var counterName: String {
        switch self {
        case .celsius: "reads"
        case .crc: "crc"
        case .reset: "reset"
        case .noSensor: "no_sensor"
        case .empty: "empty"
        case .garbage: "garbage"
        }
    }

    /// Why it is no reading, for a log line or a `source_down` reason; nil for a temperature.
    public var problem: String? {
        switch self {
        case .celsius: nil
        case .crc(let why): why
        case .reset: "85 °C power-on value (scratchpad 50 05): the conversion did not run — check power and the pull-up"
        case .noSensor: "all-zero or all-ones scratchpad: no sensor answered"
        case .empty: "empty read: the driver's read failed (no presence pulse or repeated CRC errors)"
        case .garbage(let why): why
        }
    }
}

/// The w1_therm driver's `w1_slave` attribute for a DS18B20, parsed and checked without I/O.
///
/// ```
/// 72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
/// 72 01 4b 46 7f ff 0e 10 57 t=23125
/// ```
/// Line 1 is the scratchpad just read (9 bytes, byte 8 its CRC), the CRC the driver computed and
/// its verdict. Line 2 is the last scratchpad that passed (the same bytes after a `YES`) and the
/// driver's temperature in m°C, computed from line 1 as `raw · 1000 / 16` truncated toward zero.
///
/// Checks, in order: the layout; an all-`00`/all-`ff` scratchpad (`noSensor`); the verdict and
/// the Dallas/Maxim CRC-8 computed here (`crc`); bytes 0–1 = `50 05` (`reset`); `t=` against the
/// scratchpad (`garbage`). The temperature is bytes 0–1 as a signed 16-bit count of 1/16 °C, with
/// the bits a 9-, 10- or 11-bit resolution leaves undefined (config register, byte 4, bits 5–6)
/// cleared.
public enum W1SlaveParser {
    /// Dallas/Maxim CRC-8 (polynomial x⁸+x⁵+x⁴+1, reflected 0x8C, initial value 0) — the CRC in
    /// byte 8 of a DS18B20 scratchpad and byte 7 of a 1-Wire ROM id.
    public static func crc8(_ bytes: some Sequence<UInt8>) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes {
            var b = byte
            for _ in 0..<8 {
                let mix = (crc ^ b) & 1
                crc >>= 1
                if mix != 0 { crc ^= 0x8C }
                b >>= 1
            }
        }
        return crc
    }

    /// Resolution in bits (9…12) from the config register (scratchpad byte 4).
    public static func resolutionBits(config: UInt8) -> Int { 9 + Int((config >> 5) & 0x03) }

    /// Bytes 0–1 as °C: a signed count of 1/16 °C with the undefined low bits of a lower
    /// resolution cleared (11 bits: bit 0; 10: bits 0–1; 9: bits 0–2).
    public static func celsius(lsb: UInt8, msb: UInt8, config: UInt8) -> Double {
        let raw = Int16(bitPattern: UInt16(msb) << 8 | UInt16(lsb))
        let undefined = Int16((1 << (12 - resolutionBits(config: config))) - 1)
        return Double(raw & ~undefined) / 16
    }

    /// The driver's `t=` for bytes 0–1: `raw · 1000 / 16` in C integer arithmetic (toward zero).
    public static func driverMilliCelsius(lsb: UInt8, msb: UInt8) -> Int {
        Int(Int16(bitPattern: UInt16(msb) << 8 | UInt16(lsb))) * 1000 / 16
    }

    /// Parses and checks the content of `w1_slave`.
    public static func parse(_ bytes: some Collection<UInt8>) -> W1Reading {
        if bytes.allSatisfy(IIOParsing.isSpace) { return .empty }
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        guard lines.count == 2 else { return .garbage("expected 2 lines, got \(lines.count)") }
        let first = words(lines[lines.startIndex])
        let second = words(lines[lines.index(after: lines.startIndex)])

        // Line 1: 9 bytes, ":", "crc=xx", "YES"/"NO".
        guard first.count == 12, let scratchpad = hexBytes(first[0..<9]) else {
            return .garbage("line 1 is not 9 hex bytes, ':', crc=XX and YES or NO")
        }
        guard first[9] == [UInt8(ascii: ":")], first[10].starts(with: Array("crc=".utf8)),
              let driverCRC = hexByte(first[10].dropFirst(4)) else {
            return .garbage("line 1 is not 9 hex bytes, ':', crc=XX and YES or NO")
        }
        let verdict = String(decoding: first[11], as: UTF8.self)
        guard verdict == "YES" || verdict == "NO" else {
            return .garbage("line 1 ends in '\(verdict)', not YES or NO")
        }
        // Line 2: 9 bytes (the last good scratchpad), "t=<m°C>".
        guard second.count == 10, hexBytes(second[0..<9]) != nil, second[9].starts(with: Array("t=".utf8)),
              let t = IIOParsing.milliValue(second[9].dropFirst(2)) else {
            return .garbage("line 2 is not 9 hex bytes and t=<m°C>")
        }

        if scratchpad.allSatisfy({ $0 == 0x00 }) || scratchpad.allSatisfy({ $0 == 0xFF }) { return .noSensor }
        if verdict == "NO" { return .crc("the driver's CRC check failed (crc=\(hex(driverCRC)) NO)") }
        let computed = crc8(scratchpad[0..<8])
        if computed != scratchpad[8] || driverCRC != computed {
            return .crc("CRC mismatch: computed \(hex(computed)), scratchpad byte 8 is \(hex(scratchpad[8])), driver says crc=\(hex(driverCRC)) YES")
        }
        if scratchpad[0] == 0x50 && scratchpad[1] == 0x05 { return .reset }
        let expected = driverMilliCelsius(lsb: scratchpad[0], msb: scratchpad[1])
        guard t == Int64(expected) else {
            return .garbage("t=\(t) but the scratchpad gives \(expected)")
        }
        return .celsius(celsius(lsb: scratchpad[0], msb: scratchpad[1], config: scratchpad[4]))
    }

    /// Parses the `temperature` attribute (m°C, one line) — used only where `w1_slave` does not
    /// exist. It carries no CRC; 85000 is still taken as the power-on value.
    public static func parseTemperature(_ bytes: some Collection<UInt8>) -> W1Reading {
        if bytes.allSatisfy(IIOParsing.isSpace) { return .empty }
        guard let milli = IIOParsing.milliValue(bytes) else { return .garbage("not a number of m°C") }
        // The driver computes it from a signed 16-bit count of 1/16 °C: anything past that is not a reading.
        guard milli >= -2_048_000 && milli <= 2_047_937 else { return .garbage("\(milli) m°C is outside a DS18B20's ±2048 °C register") }
        if milli == 85_000 { return .reset }
        return .celsius(IIOParsing.units(fromMilli: milli))
    }

    /// Space-separated words of a line (a trailing `\r` or space ignored).
    static func words(_ line: some Collection<UInt8>) -> [[UInt8]] {
        line.split(whereSeparator: IIOParsing.isSpace).map { Array($0) }
    }

    static func hexBytes(_ words: ArraySlice<[UInt8]>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(words.count)
        for w in words {
            guard w.count == 2, let b = hexByte(w) else { return nil }
            out.append(b)
        }
        return out
    }

    static func hexByte(_ digits: some Collection<UInt8>) -> UInt8? {
        guard digits.count == 2 else { return nil }
        var v: UInt8 = 0
        for d in digits {
            let n: UInt8
            switch d {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): n = d - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): n = d - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): n = d - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | n
        }
        return v
    }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}
