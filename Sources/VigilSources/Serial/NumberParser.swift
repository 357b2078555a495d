#if canImport(Glibc)
import Glibc
#endif

/// Decimal numbers straight from bytes: `[+-]digits[.digits][e[+-]digits]` (`.5` and `5.` too),
/// and `nan`, `inf`, `infinity` in any case, with a sign. Results are correctly rounded: the common
/// short case (≤ 15 significant digits, |exponent| ≤ 22) is exact in one multiplication or
/// division; anything longer goes to `strtod` through a scratch buffer. No allocation.
struct NumberParser {
    /// At least the longest number that will be parsed, plus one byte for the NUL.
    private let scratch: UnsafeMutableBufferPointer<CChar>

    init(capacity: Int) {
        scratch = .allocate(capacity: capacity + 1)
    }

    func deallocate() { scratch.deallocate() }

    /// 10^e for 0 ≤ e ≤ 22, all exact in a Double. A switch, not a global array: reading a global
    /// costs a lazy-initialisation check and a retain per number.
    @inline(__always) static func powerOf10(_ e: Int) -> Double {
        switch e {
        case 0: 1; case 1: 1e1; case 2: 1e2; case 3: 1e3; case 4: 1e4; case 5: 1e5; case 6: 1e6; case 7: 1e7
        case 8: 1e8; case 9: 1e9; case 10: 1e10; case 11: 1e11; case 12: 1e12; case 13: 1e13; case 14: 1e14
        case 15: 1e15; case 16: 1e16; case 17: 1e17; case 18: 1e18; case 19: 1e19; case 20: 1e20; case 21: 1e21
        default: 1e22
        }
    }

    /// The number spelled by exactly `bytes` (no surrounding spaces), or nil when it is not one.
    /// `nan`/`inf` give NaN/±infinity.
    func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return nil }
        let n = bytes.count
        var i = 0
        var negative = false
        if p[0] == UInt8(ascii: "+") || p[0] == UInt8(ascii: "-") {
            negative = p[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < n else { return nil }
        if Self.isLetter(p[i]) {
            let word = UnsafeBufferPointer(start: p + i, count: n - i)
            if Self.equalsIgnoringCase(word, "nan") { return .nan }
            if Self.equalsIgnoringCase(word, "inf") || Self.equalsIgnoringCase(word, "infinity") {
                return negative ? -.infinity : .infinity
            }
            return nil
        }
        var mantissa: UInt64 = 0
        var significant = 0       // digits in mantissa, leading zeros not counted
        var dropped = 0           // integer digits beyond 19 (they scale by 10 each)
        var fractionDigits = 0    // fraction digits taken into mantissa
        var digits = 0
        while i < n, let d = Self.digit(p[i]) {
            digits += 1
            if significant < 19 {
                if mantissa != 0 || d != 0 { mantissa = mantissa * 10 + UInt64(d); significant += 1 }
            } else {
                dropped += 1
            }
            i += 1
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, let d = Self.digit(p[i]) {
                digits += 1
                if significant < 19 {
                    if mantissa != 0 || d != 0 { mantissa = mantissa * 10 + UInt64(d); significant += 1 }
                    fractionDigits += 1
                } else {
                    significant += 1  // marks precision lost: use strtod
                }
                i += 1
            }
        }
        guard digits > 0 else { return nil }
        var exponent = 0
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var expDigits = 0
            while i < n, let d = Self.digit(p[i]) {
                if exponent < 100_000 { exponent = exponent * 10 + d }
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == n else { return nil }

        let e10 = exponent + dropped - fractionDigits
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if significant <= 15 && dropped == 0 && e10 >= -22 && e10 <= 22 {
            let m = Double(mantissa)  // exact below 2^53
            let v = e10 >= 0 ? m * Self.powerOf10(e10) : m / Self.powerOf10(-e10)
            return negative ? -v : v
        }
        return slowParse(p, n)
    }

    /// `strtod` on a NUL-terminated copy (syntax already checked; the C locale's `.` is assumed,
    /// which holds because nothing in Vigil calls `setlocale`).
    private func slowParse(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard n < scratch.count, let s = scratch.baseAddress else { return nil }
        UnsafeMutableRawPointer(s).copyMemory(from: p, byteCount: n)
        s[n] = 0
        return strtod(s, nil)
    }

    @inline(__always) static func digit(_ b: UInt8) -> Int? {
        b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil
    }

    @inline(__always) static func isLetter(_ b: UInt8) -> Bool {
        (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A
    }

    static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for k in 0..<bytes.count where (bytes[k] | 0x20) != w[k] { return false }
        return true
    }
}
