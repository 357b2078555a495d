import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

/// The microphone source on the real alsa-lib: a `type file` PCM whose `infile` is a raw 16-bit
/// file written by the test, over a `null` slave (no sound card: alsa-lib reads the file in place
/// of the capture, as fast as it is asked). Defined in a local config (`snd_pcm_open_lconf`), so
/// nothing in the machine's ALSA config or environment is involved.
@Suite struct MicrophoneSourceTests {
    /// The `type file` capture PCM named `vigiltest` reading `path`.
    static func filePCM(_ path: String) -> String {
        #"pcm.vigiltest { type file slave.pcm { type null } file "/dev/null" infile "\#(path)" format "raw" }"#
    }

    /// Writes `samples` to a fresh raw file; returns its path.
    static func rawFile(_ samples: [Int16]) -> String {
        let path = NSTemporaryDirectory() + "vigil-mic-\(getpid())-\(UUID().uuidString.prefix(8)).raw"
        FileManager.default.createFile(atPath: path, contents: Data(SoundSignals.bytes(samples)))
        return path
    }

    static func source(_ config: MicrophoneSourceConfig, file: String) -> MicrophoneSource {
        let text = filePCM(file)
        let (rate, channels, frames) = (config.rate, config.channels, config.periodFrames)
        return MicrophoneSource(unvalidated: config) { () throws(ALSAError) in
            try ALSACapture(device: "vigiltest", rate: rate, channels: channels, periodFrames: frames, localConfig: text)
        }
    }

    /// The issue's signals through alsa-lib: 2 s of a 1 kHz tone at −20 dBFS, 2 s of the same tone
    /// 12 dB louder, 1 s of silence; 1 s windows of 100 ms periods, A-weighted, calibrated +94 dB.
    /// Levels within 0.001 dB of an independent computation.
    @Test func knownSignalsThroughALSAReadTheirLevels() throws {
        let rate = 16000
        let samples = SoundSignals.sine(hz: 1000, dbfs: -20, rate: rate, frames: 2 * rate)
            + SoundSignals.sine(hz: 1000, dbfs: -8, rate: rate, frames: 2 * rate, from: 2 * rate)
            + [Int16](repeating: 0, count: rate)
        let file = Self.rawFile(samples)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let config = MicrophoneSourceConfig(name: "mic", device: "vigiltest", calibrationDB: 94)
        let running = RunningSource(Self.source(config, file: file))
        // The file holds five windows; beyond its end the file device repeats stale data, so stop there.
        #expect(waitUntil(60) { running.sink.count >= 10 })
        #expect(running.stopAndJoin(within: 10))
        let level = Array(running.sink.values(channel: 0).prefix(5)), peak = Array(running.sink.values(channel: 1).prefix(5))
        // The A-weighted levels scipy gives for the same samples through the same filter
        // (bilinear_zpk of the IEC poles at 16 kHz, scaled to 0 dB at 1 kHz, sosfilt): the first
        // window holds the filter's start-up, the silent one its decay after the tone (−46.47 dBFS).
        let expectedLevel = [-20.001644, -20.000352, -8.001266, -8.000182, -46.471606].map { $0 + 94 }
        let expectedPeak = [-20.0, -20, -8, -8, -120]
        for i in 0..<5 {
            #expect(abs(level[i] - expectedLevel[i]) < 0.001, "window \(i): \(level[i])")
            #expect(abs(peak[i] - expectedPeak[i]) < 0.001, "window \(i): \(peak[i])")
        }
        #expect(running.sink.changes.first == CollectingSink.Change(up: true, device: "vigiltest", reason: "capturing at 16000 Hz"))
        let c = running.source.counters
        #expect(c.periods >= 50 && c.xruns == 0 && c.errors == 0 && c.clipped == 0)
    }

    /// A device that does not exist: counted, reported down once with alsa-lib's words, retried.
    @Test func aMissingDeviceIsReportedDown() throws {
        let config = MicrophoneSourceConfig(name: "mic", device: "hw:CARD=NoSuchCardVigil,DEV=0")
        let running = RunningSource(try MicrophoneSource(config: config))
        #expect(waitUntil(60) { !running.sink.changes.isEmpty })
        #expect(running.stopAndJoin(within: 10))
        let down = running.sink.changes[0]
        #expect(!down.up && down.device == "hw:CARD=NoSuchCardVigil,DEV=0")
        #expect(down.reason.hasPrefix("hw:CARD=NoSuchCardVigil,DEV=0: snd_pcm_open: "))
        #expect(running.source.counters.errors >= 1 && running.source.counters.periods == 0)
        #expect(running.sink.readings.isEmpty)
    }

    /// A card that comes back (a USB microphone replugged): the first open fails with alsa-lib's
    /// ENODEV, the one after the 1 s back-off opens the file device: down, then up, then levels.
    @Test func aRepluggedCardComesBack() throws {
        let file = Self.rawFile(SoundSignals.sine(hz: 1000, dbfs: -20, rate: 16000, frames: 16000 * 2))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let opens = Mutex(0), text = Self.filePCM(file)
        let source = MicrophoneSource(unvalidated: MicrophoneSourceConfig(name: "mic", device: "vigiltest", weighting: .z)) { () throws(ALSAError) in
            let n = opens.withLock { $0 += 1; return $0 }
            if n == 1 { throw ALSAError(device: "vigiltest", call: "snd_pcm_open", code: -ENODEV) }
            return try ALSACapture(device: "vigiltest", rate: 16000, channels: 1, periodFrames: 1600, localConfig: text)
        }
        let running = RunningSource(source)
        #expect(waitUntil(60) { running.sink.count >= 4 })
        #expect(running.stopAndJoin(within: 10))
        #expect(Array(running.sink.changes.prefix(2)) == [
            CollectingSink.Change(up: false, device: "vigiltest", reason: "vigiltest: snd_pcm_open: No such device"),
            CollectingSink.Change(up: true, device: "vigiltest", reason: "capturing at 16000 Hz"),
        ])
        #expect(running.sink.values(channel: 0).prefix(2).allSatisfy { abs($0 - -20) < 0.01 })
        #expect(running.source.counters.errors == 1)
    }

    /// A rate the file device cannot give is refused by alsa-lib's hw_params, named in the error.
    @Test func anUnsupportedFormatNamesTheCall() throws {
        let file = Self.rawFile([0, 0])
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: ALSAError.self) {
            try ALSACapture(device: "nosuchpcm", rate: 16000, channels: 1, periodFrames: 1600, localConfig: Self.filePCM(file))
        }
        do {
            _ = try ALSACapture(device: "nosuchpcm", rate: 16000, channels: 1, periodFrames: 1600, localConfig: Self.filePCM(file))
        } catch {
            #expect(error.call == "snd_pcm_open" && error.description.hasPrefix("nosuchpcm: snd_pcm_open: "))
        }
    }

    @Test func configDefaultsAndDecoding() throws {
        let c = try JSONDecoder().decode(MicrophoneSourceConfig.self, from: Data(#"{"kind": "microphone"}"#.utf8))
        #expect(c.name == "microphone" && c.device == "default" && c.rate == 16000 && c.channels == 1)
        #expect(c.period == .milliseconds(100) && c.window == .seconds(1) && c.weighting == .a && c.calibrationDB == 0)
        #expect(c.periodFrames == 1600 && c.windowFrames == 16000)
        #expect(c.channelPaths.map(\.name) == ["level_db", "peak_db"])
        let b = try JSONDecoder().decode(MicrophoneSourceConfig.self, from: Data(#"{"bands": [31.5, 1000]}"#.utf8))
        #expect(b.channelPaths.map(\.name) == ["level_db", "peak_db", "band_db_31.5", "band_db_1000"])
        #expect(b.channelPaths.map(\.path).last == ["bands", "1"])
        #expect(c.validate().isEmpty)
        let z = try JSONDecoder().decode(MicrophoneSourceConfig.self, from: Data(#"{"weighting": "z", "calibration_db": 120.5, "names": {"level": "hum"}}"#.utf8))
        #expect(z.weighting == .z && z.calibrationDB == 120.5 && z.names == MicrophoneChannelNames(level: "hum", peak: "peak_db"))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MicrophoneSourceConfig.self, from: Data(#"{"weighting": "C"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MicrophoneSourceConfig.self, from: Data(#"{"rates": 8000}"#.utf8)) }
    }

    @Test func configIssuesNameTheField() {
        let bad = MicrophoneSourceConfig(name: "", device: "", rate: 100, channels: 0, period: .milliseconds(5),
                                         calibrationDB: .infinity)
        #expect(bad.validate().map(\.description) == [
            "name: must not be empty",
            "device: must name an ALSA capture device, such as plughw:CARD=Device,DEV=0 (arecord -L lists them)",
            "rate: must be 8000…192000 frames per second, got 100",
            "channels: must be 1…8, got 0",
            "period: must be 10ms…1s, got 5ms",
            "calibration_db: must be -200…200 dB, got inf",
        ])
        #expect(MicrophoneSourceConfig(rate: 8000, bands: [1000, 900, 4000, 1000]).validate().map(\.description) == [
            "bands[1]: must be an octave centre (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000 Hz), got 900.0",
            "bands[2]: 4000 Hz does not fit under half the rate (4000 Hz)",
            "bands[3]: 1000 Hz is listed twice",
        ])
        #expect(MicrophoneSourceConfig(period: .seconds(1), window: .milliseconds(500)).validate().map(\.description)
                == ["window: must be at least the period (1s) and at most 1h, got 500ms"])
        #expect(MicrophoneSourceConfig(rate: 44100, window: .milliseconds(1001)).validate().map(\.description)
                == ["window: must be a whole number of frames at 44100 Hz, got 1001ms"])
    }
}
