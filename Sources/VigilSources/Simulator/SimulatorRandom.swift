// Random numbers for the simulator: small, seeded, and bit-for-bit the same on every platform.
//
// Only IEEE basic operations (+ − × ÷ and `squareRoot()`) are used, which are correctly rounded
// everywhere; the one transcendental function needed (the natural logarithm) is written here
// rather than taken from the C library, whose results may differ by an ulp between platforms.
// So a seed gives the same readings on Linux, macOS and an ARM board.

/// SplitMix64 (Steele, Lea, Flood 2014): used to derive stream seeds and to fill xoshiro's state.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output function: a bijective 64-bit mixer.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman, Vigna 2018): a fast generator with 256 bits of state.
struct Xoshiro256StarStar {
    private var s0, s1, s2, s3: UInt64

    /// Seeds the state from SplitMix64, as the authors recommend (never all zero).
    init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// A generator in the given state (not all zero).
    init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
    }

    mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// Uniform in [0, 1), 53 random bits.
    @inline(__always)
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in (0, 1], 53 random bits: safe to take the logarithm of.
    @inline(__always)
    mutating func nextOpenUnit() -> Double { Double((next() >> 11) &+ 1) * 0x1.0p-53 }

    /// Two independent standard normal draws (Marsaglia's polar method).
    mutating func nextNormalPair() -> (Double, Double) {
        while true {
            let u = 2 * nextUnit() - 1
            let v = 2 * nextUnit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let f = (-2 * naturalLog(s) / s).squareRoot()
                return (u * f, v * f)
            }
        }
    }

    /// An exponential draw with mean 1.
    mutating func nextExponential() -> Double { -naturalLog(nextOpenUnit()) }
}

/// Stream seeds: each channel and each rate-driven fault draws from its own generator, derived
/// from the model's seed and a key, so that adding a channel or a fault leaves the others alone.
enum StreamSeed {
    /// A channel's stream is keyed by its name (not its position in the list).
    static func channel(_ seed: UInt64, name: String) -> UInt64 {
        derive(seed, domain: 0x6368_616E_6E65_6C00 /* "channel" */, key: fnv1a(name))
    }

    /// A rate-driven fault's stream is keyed by the fault's index in the fault list.
    static func fault(_ seed: UInt64, index: Int) -> UInt64 {
        derive(seed, domain: 0x6661_756C_7473_0000 /* "faults" */, key: UInt64(truncatingIfNeeded: index))
    }

    private static func derive(_ seed: UInt64, domain: UInt64, key: UInt64) -> UInt64 {
        SplitMix64.mix(SplitMix64.mix(seed ^ domain) &+ SplitMix64.mix(key &+ 0x9E37_79B9_7F4A_7C15))
    }

    /// 64-bit FNV-1a over the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }
}

/// The natural logarithm of a positive finite `x`, in pure Swift (within about 1 ulp).
///
/// x = m·2^e with m in [√½, √2); ln m = 2·atanh(f) with f = (m−1)/(m+1), |f| ≤ 0.1716, summed as
/// the odd series 2(f + f³/3 + f⁵/5 + … + f²³/23), whose truncation error is below 2⁻⁶⁰;
/// ln 2 is split into a high part exact in 53 bits times any exponent and a low correction.
func naturalLog(_ x: Double) -> Double {
    precondition(x > 0 && x.isFinite, "naturalLog needs a positive finite argument")
    var m = x.significand           // [1, 2), subnormals included
    var e = Double(x.exponent)
    if m > 1.414_213_562_373_095_1 { m *= 0.5; e += 1 }
    let f = (m - 1) / (m + 1)
    let f2 = f * f
    // Horner over 1/(2k+1), k = 0…11.
    var p = 1.0 / 23
    p = p * f2 + 1.0 / 21
    p = p * f2 + 1.0 / 19
    p = p * f2 + 1.0 / 17
    p = p * f2 + 1.0 / 15
    p = p * f2 + 1.0 / 13
    p = p * f2 + 1.0 / 11
    p = p * f2 + 1.0 / 9
    p = p * f2 + 1.0 / 7
    p = p * f2 + 1.0 / 5
    p = p * f2 + 1.0 / 3
    let series = 2 * f + 2 * f * f2 * p
    let ln2Hi = 6.931_471_803_691_238_164_90e-01   // 0x3FE62E42FEE00000, low 32 bits zero
    let ln2Lo = 1.908_214_929_270_587_700_02e-10   // ln 2 − ln2Hi
    return e * ln2Hi + (series + e * ln2Lo)
}
