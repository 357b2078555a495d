/// RFC 3339 UTC timestamps with milliseconds, without Foundation.
public enum Timestamp {
    /// Appends e.g. `2026-11-23T11:40:00.123Z` for Unix-epoch nanoseconds.
    public static func appendRFC3339(_ nanos: Int64, to out: inout [UInt8]) {
        var ms = nanos / 1_000_000
        if nanos < 0 && nanos % 1_000_000 != 0 { ms -= 1 }
        var days = ms / 86_400_000
        var msOfDay = ms % 86_400_000
        if msOfDay < 0 { msOfDay += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let h = msOfDay / 3_600_000, mi = (msOfDay / 60_000) % 60, s = (msOfDay / 1000) % 60, f = msOfDay % 1000
        digits(y, 4, &out); out.append(UInt8(ascii: "-")); digits(m, 2, &out); out.append(UInt8(ascii: "-"))
        digits(d, 2, &out); out.append(UInt8(ascii: "T")); digits(h, 2, &out); out.append(UInt8(ascii: ":"))
        digits(mi, 2, &out); out.append(UInt8(ascii: ":")); digits(s, 2, &out); out.append(UInt8(ascii: "."))
        digits(f, 3, &out); out.append(UInt8(ascii: "Z"))
    }

    public static func rfc3339(_ nanos: Int64) -> String {
        var out: [UInt8] = []
        appendRFC3339(nanos, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func digits(_ v: Int64, _ width: Int, _ out: inout [UInt8]) {
        var div: Int64 = 1
        for _ in 1..<width { div *= 10 }
        var v = v
        while div > 0 { out.append(UInt8(ascii: "0") + UInt8((v / div) % 10)); v %= div; div /= 10 }
    }

    /// Howard Hinnant's days-from-civil and its inverse (proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Why a text is not a time `parse(_:within:)` takes.
    public enum Problem: Error, Equatable {
        case malformed
        /// A well-formed time outside the range asked for (or outside Int64 nanoseconds:
        /// before 1677-09-21 or after 2262-04-11).
        case outOfRange
    }

    /// The times recorded data may carry (what `vigil replay` takes): 1970-01-01 up to the end of
    /// 2199. Any two are less than 230 years apart, so their difference, even with the longest
    /// config duration added (ten years), stays inside Int64 nanoseconds (292 years).
    public static let recordedRange: ClosedRange<Int64> = 0...(days(fromCivil: 2200, 1, 1) * 86_400_000_000_000 - 1)

    /// Parses `YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|±HH:MM]` (no zone means UTC) or a plain
    /// number of seconds since the Unix epoch. Returns Unix-epoch nanoseconds; nil when malformed
    /// or not representable.
    public static func parse<S: StringProtocol>(_ text: S) -> Int64? {
        try? parse(text, within: Int64.min...Int64.max).get()
    }

    /// As `parse(_:)`, and the time must lie in `range`.
    public static func parse<S: StringProtocol>(_ text: S, within range: ClosedRange<Int64>) -> Result<Int64, Problem> {
        let b = Array(text.utf8)
        if !b.contains(UInt8(ascii: ":")) {
            guard let secs = Double(String(text)), secs.isFinite else { return .failure(.malformed) }
            // Within ±9e9 s (±285 years) the nanoseconds fit an Int64.
            guard abs(secs) < 9e9 else { return .failure(.outOfRange) }
            let nanos = Int64((secs * 1e9).rounded())
            return range.contains(nanos) ? .success(nanos) : .failure(.outOfRange)
        }
        func num(_ i: Int, _ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + n) {
                let c = b[k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " ") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return .failure(.malformed) }
        var i = 19
        var frac: Int64 = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                frac += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            if i == start { return .failure(.malformed) }
        }
        var offsetSeconds: Int64 = 0
        if i < b.count {
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                i += 1
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                guard let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2) else { return .failure(.malformed) }
                offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
                i += 6
            }
        }
        guard i == b.count else { return .failure(.malformed) }
        // Four-digit years keep the seconds small; their nanoseconds may not fit (after 2262-04-11).
        let secs = days(fromCivil: y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offsetSeconds
        let (whole, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        let (nanos, carry) = whole.addingReportingOverflow(frac)
        guard !overflow, !carry, range.contains(nanos) else { return .failure(.outOfRange) }
        return .success(nanos)
    }
}
