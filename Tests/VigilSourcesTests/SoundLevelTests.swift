import Foundation
import Testing
@testable import VigilSources

/// Synthetic 16-bit signals for the sound tests.
enum SoundSignals {
    /// A sine of `hz` at `dbfs` (peak amplitude 10^(dBFS/20) of full scale), rounded to 16 bits.
    static func sine(hz: Double, dbfs: Double, rate: Int, frames: Int, channels: Int = 1, from start: Int = 0) -> [Int16] {
        let amplitude = pow(10, dbfs / 20) * 32768
        var out: [Int16] = []
        out.reserveCapacity(frames * channels)
        for i in start..<start + frames {
            let v = (amplitude * sin(2 * Double.pi * hz * Double(i) / Double(rate))).rounded()
            let s = Int16(clamping: Int(v))
            for _ in 0..<channels { out.append(s) }
        }
        return out
    }

    /// Little-endian bytes of the samples (the raw PCM a `type file` ALSA device reads).
    static func bytes(_ samples: [Int16]) -> [UInt8] { samples.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] } }
}

@Suite struct SoundLevelTests {
    /// Runs `samples` through a meter, fed in `chunk`-sample pieces (as periods arrive).
    static func windows(_ samples: [Int16], rate: Int = 16000, channels: Int = 1, window: Int, weighting: FrequencyWeighting,
                        chunk: Int = 1600) -> [SoundLevelWindow] {
        var meter = SoundLevelMeter(rate: rate, channels: channels, framesPerWindow: window, weighting: weighting)
        var out: [SoundLevelWindow] = []
        samples.withUnsafeBufferPointer { all in
            var i = 0
            while i < all.count {
                let n = min(chunk, all.count - i)
                meter.add(UnsafeBufferPointer(rebasing: all[i..<i + n])) { w, _ in out.append(w) }
                i += n
            }
        }
        return out
    }

    static func product(_ sections: [Biquad]) -> [Double] {
        sections.reduce([1.0]) { poly, s in
            let a = [1.0, s.a1, s.a2]
            var r = [Double](repeating: 0, count: poly.count + 2)
            for (i, p) in poly.enumerated() { for (j, q) in a.enumerated() { r[i + j] += p * q } }
            return r
        }
    }

    /// At 48 kHz the denominator is the one published for Couvreur's adsgn (and scipy's
    /// bilinear_zpk of the same poles): 1, −4.113043408775872, 6.553121752655050, −4.990849294163380,
    /// 1.785737302937573, −0.246190595319487, 0.011224250033231.
    @Test func aWeightingAt48kHzHasThePublishedPoles() {
        let f = AWeightingFilter(rate: 48000)
        let a = Self.product([f.lowPair, f.midPair, f.highPair])
        let published = [1.0, -4.113043408775872, 6.553121752655050, -4.990849294163380, 1.785737302937573,
                         -0.246190595319487, 0.011224250033231]
        for (x, y) in zip(a, published) { #expect(abs(x - y) < 1e-12, "\(x) vs \(y)") }
        // Numerator: four zeros at z = 1 and two at z = −1: b0 × (1, −2, −1, 4, −1, −2, 1).
        let b0 = f.lowPair.b0 * f.midPair.b0 * f.highPair.b0
        #expect(abs(f.lowPair.b1 / f.lowPair.b0 + 2) < 1e-15 && abs(f.highPair.b1 / f.highPair.b0 - 2) < 1e-15)
        // adsgn scales by the analog gain at 1 kHz (+1.9997 dB), which reads +0.0044 dB at 1 kHz
        // digitally; this filter takes that out.
        #expect(abs(b0 * f.gain - 0.23430179229951345 / pow(10, 0.0044033048 / 20)) < 1e-9)
    }

    @Test func aWeightingAt16kHzHasTheExpectedPoles() {
        let f = AWeightingFilter(rate: 16000)
        let a = Self.product([f.lowPair, f.midPair, f.highPair])
        let expected = [1.0, -2.8678325729921617, 2.2211444102023084, 0.4552683347886644, -0.9833868636162828,
                        0.055929941424132976, 0.11887810382856134]
        for (x, y) in zip(a, expected) { #expect(abs(x - y) < 1e-12, "\(x) vs \(y)") }
    }

    /// The response at the IEC 61672-1 octave frequencies against the standard's analog curve
    /// (IEC: 31.5 Hz −39.4, 63 −26.2, 125 −16.1, 250 −8.6, 500 −3.2, 1 k 0, 2 k +1.2, 4 k +1.0 dB;
    /// the formula's exact values are the second column).
    @Test(arguments: [
        (16000.0, 31.5, -39.5639, -39.5246), (16000, 63, -26.2582, -26.2195), (16000, 125, -16.2246, -16.1876),
        (16000, 250, -8.7059, -8.6738), (16000, 500, -3.2665, -3.2473), (16000, 1000, 0, 0.0003),
        (16000, 2000, 1.1909, 1.2017), (16000, 4000, 0.4716, 0.9636), (16000, 6000, -4.1483, 0.0502),
        (48000, 31.5, -39.5293, -39.5246), (48000, 1000, 0, 0.0003), (48000, 4000, 0.9256, 0.9636),
    ])
    func aWeightingResponse(rate: Double, hz: Double, digital: Double, analog: Double) {
        let f = AWeightingFilter(rate: rate)
        #expect(abs(f.responseDB(atHz: hz, rate: rate) - digital) < 1e-3)
        if hz <= 2000 { #expect(abs(f.responseDB(atHz: hz, rate: rate) - analog) < 0.05) }
    }

    /// A 1 kHz sine at −20 dBFS reads −20.00 dBFS, flat and A-weighted (A is 0 dB at 1 kHz), from the
    /// first window on (flat) and from the second (A: the 20 Hz poles' start-up is in the first),
    /// within 0.01 dB (16-bit rounding). Its peak is −20.00 dBFS too.
    @Test(arguments: [FrequencyWeighting.z, .a])
    func aSineAtMinus20dBFSReadsMinus20(weighting: FrequencyWeighting) {
        let w = Self.windows(SoundSignals.sine(hz: 1000, dbfs: -20, rate: 16000, frames: 16000 * 4), window: 16000, weighting: weighting)
        #expect(w.count == 4)
        for (i, x) in w.enumerated() where weighting == .z || i > 0 {
            #expect(abs(x.levelDBFS - -20) < 0.01, "window \(i): \(x.levelDBFS)")
            #expect(abs(x.peakDBFS - -20) < 0.01)
            #expect(x.clippedSamples == 0)
        }
    }

    /// A-weighted, a 100 Hz tone reads 19.14 dB lower than flat (the filter's gain there).
    @Test func a100HzToneIsWeightedDown() {
        let s = SoundSignals.sine(hz: 100, dbfs: -10, rate: 16000, frames: 16000 * 3)
        let flat = Self.windows(s, window: 16000, weighting: .z), a = Self.windows(s, window: 16000, weighting: .a)
        #expect(abs(flat[2].levelDBFS - -10) < 0.01)
        #expect(abs(a[2].levelDBFS - (-10 + AWeightingFilter(rate: 16000).responseDB(atHz: 100, rate: 16000))) < 0.01)
        #expect(abs(a[2].levelDBFS - -29.18) < 0.01)
    }

    @Test func silenceReadsTheFloor() {
        let w = Self.windows([Int16](repeating: 0, count: 32000), window: 16000, weighting: .a)
        #expect(w == [SoundLevelWindow(levelDBFS: -120, peakDBFS: -120, clippedSamples: 0),
                      SoundLevelWindow(levelDBFS: -120, peakDBFS: -120, clippedSamples: 0)])
    }

    /// A sine driven 6 dB past full scale clips: every sample at ±full scale counted, the peak 0 dBFS.
    @Test func clippingIsCounted() {
        let s = SoundSignals.sine(hz: 1000, dbfs: 6, rate: 16000, frames: 1600)
        let clipped = s.filter { $0 == .max || $0 == .min }.count
        #expect(clipped == 1000)  // 10 of every 16 samples (45°…135° of each half cycle)
        let w = Self.windows(s, window: 1600, weighting: .z)
        #expect(w.count == 1 && w[0].clippedSamples == clipped)
        #expect(abs(w[0].peakDBFS - 0) < 0.001)
        #expect(w[0].levelDBFS < 3.02 && w[0].levelDBFS > 0)
    }

    /// Windows do not follow periods: 1000-frame windows from 1600-frame chunks come out whole, and
    /// a tone stepping up 12 dB halfway reads 12 dB more from the window after the step.
    @Test func windowsSpanPeriodsAndAStepUpReads12dBMore() {
        let quiet = SoundSignals.sine(hz: 500, dbfs: -32, rate: 16000, frames: 8000)
        let loud = SoundSignals.sine(hz: 500, dbfs: -20, rate: 16000, frames: 8000, from: 8000)
        let w = Self.windows(quiet + loud, window: 1000, weighting: .z)
        #expect(w.count == 16)
        for x in w[0..<8] { #expect(abs(x.levelDBFS - -32) < 0.02) }
        for x in w[8..<16] { #expect(abs(x.levelDBFS - -20) < 0.01) }
    }

    /// Two channels: the level is their power mean (one silent channel: 3.01 dB below the other).
    @Test func stereoIsThePowerMean() {
        let mono = SoundSignals.sine(hz: 1000, dbfs: -20, rate: 16000, frames: 1600)
        let both = SoundSignals.sine(hz: 1000, dbfs: -20, rate: 16000, frames: 1600, channels: 2)
        let one: [Int16] = mono.flatMap { s -> [Int16] in [s, 0] }
        #expect(abs(Self.windows(both, channels: 2, window: 1600, weighting: .z)[0].levelDBFS - -20) < 0.01)
        #expect(abs(Self.windows(one, channels: 2, window: 1600, weighting: .z)[0].levelDBFS - (-20 - 3.0103)) < 0.01)
    }

    /// Octave bands: 0 dB at the centre, −3 dB at the band edges (centre × √2^±1), about −7.5 dB an
    /// octave away (the cookbook band-pass at 16 kHz).
    @Test func octaveBandFilterResponse() {
        let f = OctaveBand.filter(centreHz: 1000, rate: 16000)
        let db = { (hz: Double) in 20 * log10(f.magnitude(atHz: hz, rate: 16000)) }
        #expect(abs(db(1000)) < 1e-9)
        #expect(abs(db(1000 * 2.0.squareRoot()) - -3.063) < 1e-3 && abs(db(1000 / 2.0.squareRoot()) - -2.978) < 1e-3)
        #expect(abs(db(2000) - -7.683) < 1e-3 && abs(db(500) - -7.328) < 1e-3)
    }

    /// The same loudness at another pitch: a 1 kHz tone and a 250 Hz tone, both at −20 dBFS flat,
    /// read the same level but swap which band is loud. Each band reads the tone's level plus the
    /// band filter's gain at the tone (within 0.05 dB, from the second window on).
    @Test func bandsTellThePitchApart() {
        let bands: [Double] = [250, 1000]
        func run(_ hz: Double) -> [[Double]] {
            var meter = SoundLevelMeter(rate: 16000, channels: 1, framesPerWindow: 16000, weighting: .z, bands: bands)
            var out: [[Double]] = []
            let s = SoundSignals.sine(hz: hz, dbfs: -20, rate: 16000, frames: 16000 * 3)
            s.withUnsafeBufferPointer { p in meter.add(p) { w, b in out.append([w.levelDBFS] + b) } }
            return out
        }
        for hz in [250.0, 1000] {
            let w = run(hz)
            #expect(w.count == 3)
            #expect(abs(w[2][0] - -20) < 0.01)
            for (i, centre) in bands.enumerated() {
                let gain = 20 * log10(OctaveBand.filter(centreHz: centre, rate: 16000).magnitude(atHz: hz, rate: 16000))
                #expect(abs(w[2][1 + i] - (-20 + gain)) < 0.05, "tone \(hz) band \(centre): \(w[2][1 + i])")
            }
        }
        #expect(run(250)[2][1] > run(250)[2][2] + 10 && run(1000)[2][2] > run(1000)[2][1] + 10)
    }
}
