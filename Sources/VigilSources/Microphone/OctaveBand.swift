#if canImport(Glibc)
import Glibc
#endif

/// Octave bands as a cheap filter bank: one band-pass biquad per band (Bristow-Johnson's Audio EQ
/// Cookbook band-pass, 0 dB at the centre, one octave between the −3 dB points), run on the
/// unweighted signal. Far less selective than IEC 61260 octave filters (an octave away a tone is
/// only about 7.5 dB down), but enough to see the same loudness move to another pitch, at five
/// multiplications per sample per band.
public enum OctaveBand {
    /// The band centres a config may name (ISO 266 octave frequencies).
    public static let centres: [Double] = [31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]

    /// Bandwidth in octaves between the −3 dB points.
    static let bandwidth = 1.0

    static func filter(centreHz: Double, rate: Double) -> Biquad {
        let w0 = 2 * Double.pi * centreHz / rate
        let alpha = sin(w0) * sinh(log(2.0) / 2 * bandwidth * w0 / sin(w0))
        let a0 = 1 + alpha
        return Biquad(b0: alpha / a0, b1: 0, b2: -alpha / a0, a1: -2 * cos(w0) / a0, a2: (1 - alpha) / a0)
    }

    /// Whether the band's upper edge (centre × √2) is below half the rate.
    public static func fits(_ centreHz: Double, rate: Int) -> Bool { centreHz * 2.0.squareRoot() < Double(rate) / 2 }

    /// `1000` → "1000", `31.5` → "31.5" (channel names).
    public static func label(_ centreHz: Double) -> String {
        centreHz == centreHz.rounded() ? String(Int(centreHz)) : String(centreHz)
    }
}
