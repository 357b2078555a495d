import Foundation
import Testing
import VigilCore
@testable import VigilSources

/// Issue 17's detector test: a simulated machine hum, captured through the real alsa-lib (the
/// `type file` PCM of `MicrophoneSourceTests`) by the microphone source, its readings run through a
/// `Pipeline` with the detector settings of a config that has no detector keys. A level step and
/// a pitch change at the same level must each open exactly one episode, on the right channels, and
/// the steady hum none.
@Suite struct MachineHumDetectionTests {
    static let rate = 16000
    /// 100 ms windows: short, so a test's worth of readings is seconds of audio.
    static let window = 1600
    /// Steady hum before any change: three times the default warm-up (20 readings).
    static let steadyWindows = 60
    static let changedWindows = 30
    /// An episode must start within this many windows of the change.
    static let within = 5

    /// The config of the Microphone README's "Detecting a change in a machine's sound" (as JSON,
    /// with the test's device and 100 ms windows): no `detector`, no `channels`, so every channel
    /// gets the defaults.
    static let configJSON = """
        {"device": "hum", "sources": [{"kind": "microphone", "name": "mic", "device": "vigiltest",
          "period": "100ms", "window": "100ms", "weighting": "Z", "bands": [125, 250, 500]}]}
        """

    /// One stretch of hum: fundamental `hz`, total RMS `dbfs` (AES17: a full-scale sine is 0).
    struct Stretch { var hz: Double; var dbfs: Double; var windows: Int }

    /// A machine hum: a fundamental and harmonics 2–4 (amplitudes 1, 0.5, 0.3, 0.2; the phase runs
    /// on across a change of pitch), its level wobbling as a machine's does — a gain in dB drawn
    /// per window (σ `wobbleDB`) and interpolated linearly between window starts — plus white
    /// noise at −60 dBFS RMS. Deterministic for a `seed`.
    static func hum(_ stretches: [Stretch], wobbleDB: Double = 0.2, seed: UInt64 = 17) -> [Int16] {
        let harmonics: [Double] = [1, 0.5, 0.3, 0.2]
        let norm = (harmonics.map { $0 * $0 }.reduce(0, +)).squareRoot()
        var rng = Xoshiro256StarStar(seed: seed)
        let noiseRMS = pow(10, -60 / 20) * 32768 / 2.0.squareRoot()
        var phase = 0.0, out: [Int16] = [], gainDB = rng.nextNormalPair().0 * wobbleDB
        for s in stretches {
            let amplitude = pow(10, s.dbfs / 20) * 32768 / norm
            for _ in 0..<s.windows {
                let nextGainDB = rng.nextNormalPair().0 * wobbleDB
                for i in 0..<window {
                    let g = pow(10, (gainDB + (nextGainDB - gainDB) * Double(i) / Double(window)) / 20)
                    var v = 0.0
                    for (k, a) in harmonics.enumerated() { v += a * sin(Double(k + 1) * phase) }
                    phase += 2 * Double.pi * s.hz / Double(rate)
                    if phase > 2 * Double.pi * 1000 { phase -= 2 * Double.pi * 1000 }   // keep it exact enough
                    v = v * amplitude * g + rng.nextNormalPair().0 * noiseRMS
                    out.append(Int16(clamping: Int(v.rounded())))
                }
                gainDB = nextGainDB
            }
        }
        return out
    }

    final class Collect: EventSink, @unchecked Sendable {
        var events: [Event] = []
        func emit(_ event: Event) { events.append(event) }
    }

    /// An episode start: the channel and the window (0-based) whose reading opened it.
    struct Start: Equatable, CustomStringConvertible {
        var channel: String; var window: Int; var z: Double
        var description: String { "\(channel)@\(window) z=\((z * 100).rounded() / 100)" }
        static func == (a: Start, b: Start) -> Bool { a.channel == b.channel && a.window == b.window }
    }

    /// Captures `samples` through alsa-lib with the config above and runs the readings through a
    /// Pipeline with the config's detector settings. The file device reads as fast as it is asked,
    /// so the readings are re-timed at the window's cadence (100 ms apart), as a card would give
    /// them: the false-alarm budget's thresholds depend on that interval.
    static func episodeStarts(_ samples: [Int16]) throws -> (starts: [Start], channels: [String]) {
        let decoder = JSONDecoder()
        decoder.userInfo[.sourceKinds] = SourceKinds.decoders
        let config = try decoder.decode(VigilConfig.self, from: Data(configJSON.utf8))
        #expect(config.validate().isEmpty)
        let mic = try #require(config.sources.first?.settings as? MicrophoneSourceConfig)
        let names = config.sources[0].channelNames
        let file = MicrophoneSourceTests.rawFile(samples)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let windows = samples.count / window
        let running = RunningSource(MicrophoneSourceTests.source(mic, file: file))
        // Beyond the file's end the file device repeats stale data: only the first `windows` count.
        #expect(waitUntil(60) { running.sink.count >= windows * names.count })
        #expect(running.stopAndJoin(within: 10))
        let rows = Array(running.sink.rows(channels: names.count).prefix(windows))
        try #require(rows.count == windows)

        let sink = Collect()
        let pipeline = Pipeline(channels: names.map { ChannelInfo(name: $0, unit: "dB") },
                                settings: names.map { config.detectorSettings(forChannel: $0) },
                                summaryInterval: .seconds(3600), sink: sink, source: mic.name)
        var starts: [Start] = []
        for (w, row) in rows.enumerated() {
            let t = Int64(w + 1) * 100_000_000
            let before = sink.events.count
            for (c, v) in row.enumerated() { pipeline.reading(channel: c, value: v, monoNanos: t, wallNanos: t) }
            for case .anomalyStart(let channel, let start) in sink.events[before...] {
                starts.append(Start(channel: channel.name, window: w, z: start.z))
            }
        }
        return (starts, names)
    }

    /// The hum, then the same hum changed: the episode starts, which must all be past the steady
    /// part (none during it) and each channel's at most once.
    static func startsAfterChange(to changed: Stretch) throws -> [Start] {
        let (starts, names) = try episodeStarts(hum([Stretch(hz: 120, dbfs: -30, windows: steadyWindows), changed]))
        #expect(names == ["level_db", "peak_db", "band_db_125", "band_db_250", "band_db_500"])
        #expect(starts.allSatisfy { $0.window >= steadyWindows }, "an episode during the steady hum: \(starts)")
        #expect(Set(starts.map(\.channel)).count == starts.count, "a channel opened twice: \(starts)")
        return starts
    }

    /// +6 dB: everything is louder, so every channel opens one episode, at the first louder window
    /// (z 46…58 against z_on 5.0 at a 100 ms interval).
    @Test func aLevelStepOpensOneEpisodeOnEveryChannel() throws {
        let starts = try Self.startsAfterChange(to: Stretch(hz: 120, dbfs: -24, windows: Self.changedWindows))
        #expect(starts.map(\.channel).sorted() == ["band_db_125", "band_db_250", "band_db_500", "level_db", "peak_db"])
        #expect(starts.allSatisfy { $0.window < Self.steadyWindows + Self.within }, "\(starts)")
    }

    /// The smallest step `level_db` finds with the defaults on this hum (its level wobbles by
    /// σ 0.2 dB a window): +0.5 dB opens an episode at the first louder window (z 6.55); +0.3 dB
    /// opens none on `level_db`.
    @Test func theSmallestLevelStepFoundIsHalfADecibel() throws {
        let half = try Self.startsAfterChange(to: Stretch(hz: 120, dbfs: -29.5, windows: Self.changedWindows))
        #expect(half.filter { $0.channel == "level_db" } == [Start(channel: "level_db", window: Self.steadyWindows, z: 0)], "\(half)")
        let less = try Self.startsAfterChange(to: Stretch(hz: 120, dbfs: -29.7, windows: Self.changedWindows))
        #expect(!less.contains { $0.channel == "level_db" }, "\(less)")
    }

    /// The hum an octave up (120 → 240 Hz) at the same RMS: `level_db` and `peak_db` stay quiet,
    /// the three bands each open one episode at the first changed window (125 Hz falls, 250 and
    /// 500 Hz rise).
    @Test func aPitchChangeAtTheSameLevelOpensBandEpisodesOnly() throws {
        let starts = try Self.startsAfterChange(to: Stretch(hz: 240, dbfs: -30, windows: Self.changedWindows))
        #expect(starts.map(\.channel).sorted() == ["band_db_125", "band_db_250", "band_db_500"], "\(starts)")
        #expect(starts.allSatisfy { $0.window < Self.steadyWindows + Self.within }, "\(starts)")
        #expect(starts.first { $0.channel == "band_db_125" }.map { $0.z < 0 } == true)
    }
}
