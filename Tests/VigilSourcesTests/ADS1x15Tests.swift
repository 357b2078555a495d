import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

/// An ADS1x15 as a recorded I²C conversation: every transaction is logged (`W 01 C383`, `R 01`,
/// `R 00`); conversion reads answer from `conversions` in turn (the last one repeats), config reads
/// say "converting" for the first `busyPolls`, and while `failing` every call fails with EIO.
final class RecordedADS1x15: WordRegisterBus, Sendable {
    private struct State {
        var log: [String] = []
        var conversions: [UInt16] = []
        var next = 0
        var busyPolls = 0
        var failing = false
    }
    private let state = Mutex(State())

    init(conversions: [UInt16], busyPolls: Int = 0) {
        state.withLock { $0.conversions = conversions; $0.busyPolls = busyPolls }
    }

    func readWord(_ register: UInt8) throws(I2CError) -> UInt16 {
        let r: UInt16? = state.withLock { s in
            s.log.append(String(format: "R %02X", register))
            if s.failing { return nil }
            if register == 1 {
                if s.busyPolls > 0 { s.busyPolls -= 1; return 0x0583 }
                return 0x8583
            }
            let v = s.conversions[min(s.next, s.conversions.count - 1)]
            s.next += 1
            return v
        }
        guard let r else { throw I2CError(bus: "/dev/i2c-1", address: 0x48, call: "read \(I2CDevice.hex(register))", reason: "Input/output error", errno: EIO) }
        return r
    }

    func writeWord(_ register: UInt8, _ value: UInt16) throws(I2CError) {
        state.withLock { $0.log.append(String(format: "W %02X %04X", register, value)) }
    }

    func fail(_ on: Bool) { state.withLock { $0.failing = on } }
    var log: [String] { state.withLock { $0.log } }
    var conversionsRead: Int { state.withLock { $0.next } }
}

@Suite struct ADS1x15Tests {
    // The bit fields as Adafruit_ADS1X15.h spells them (ADS1X15_REG_CONFIG_*), checked
    // independently of the encoder's arithmetic.
    static let mux: [ADS1x15Input: UInt16] = [
        .ain0MinusAin1: 0x0000, .ain0MinusAin3: 0x1000, .ain1MinusAin3: 0x2000, .ain2MinusAin3: 0x3000,
        .ain0: 0x4000, .ain1: 0x5000, .ain2: 0x6000, .ain3: 0x7000,
    ]
    static let pga: [ADS1x15Range: UInt16] = [
        .fs6_144: 0x0000, .fs4_096: 0x0200, .fs2_048: 0x0400, .fs1_024: 0x0600, .fs0_512: 0x0800, .fs0_256: 0x0A00,
    ]
    static let rates1115: [Int: UInt16] = [8: 0x0000, 16: 0x0020, 32: 0x0040, 64: 0x0060, 128: 0x0080, 250: 0x00A0, 475: 0x00C0, 860: 0x00E0]
    static let rates1015: [Int: UInt16] = [128: 0x0000, 250: 0x0020, 490: 0x0040, 920: 0x0060, 1600: 0x0080, 2400: 0x00A0, 3300: 0x00C0]

    /// Every input × range × rate × mode of both chips: the word is the OR of the fields, and reads back.
    @Test(arguments: ADS1x15Chip.allCases)
    func everyConfigWord(chip: ADS1x15Chip) {
        let rates = chip == .ads1115 ? Self.rates1115 : Self.rates1015
        var seen = Set<UInt16>()
        for input in ADS1x15Input.allCases {
            for range in ADS1x15Range.allCases {
                for (sps, bits) in rates {
                    for mode in [ADS1x15Conversion.singleShot, .continuous] {
                        let c = ADS1x15Config(input: input, range: range, conversion: mode, dataRateCode: chip.dataRateCode(sps)!)
                        let modeBits: UInt16 = mode == .singleShot ? 0x8100 : 0x0000
                        #expect(c.word == Self.mux[input]! | Self.pga[range]! | modeBits | bits | 0x0003)
                        #expect(ADS1x15Config(word: c.word) == c)
                        seen.insert(c.word)
                    }
                }
            }
        }
        #expect(seen.count == 8 * 6 * rates.count * 2)
    }

    /// Known words: the chip's reset value 0x8583 (AIN0−AIN1, ±2.048 V, single-shot, 128/1600 SPS,
    /// comparator off), and Adafruit's readADC_SingleEnded(0) at its default gain (±6.144 V) and
    /// 128 SPS on an ADS1115: 0xC183.
    @Test func knownWords() {
        #expect(ADS1x15Config(word: 0x8583) == ADS1x15Config(input: .ain0MinusAin1, range: .fs2_048, conversion: .singleShot, dataRateCode: 4))
        #expect(ADS1x15Config(input: .ain0MinusAin1, range: .fs2_048, conversion: .singleShot, dataRateCode: 4).word == 0x8583)
        #expect(ADS1x15Config(input: .ain0, range: .fs6_144, conversion: .singleShot, dataRateCode: 4).word == 0xC183)
        // PGA codes 6 and 7 are ±0.256 V as well.
        #expect(ADS1x15Config(word: 0x0C00).range == .fs0_256 && ADS1x15Config(word: 0x0E00).range == .fs0_256)
        #expect(ADS1x15Config.isReady(0x8583) && !ADS1x15Config.isReady(0x0583))
        #expect(ADS1x15Chip.ads1015.dataRateCode(3300) == 6 && ADS1x15Chip.ads1015.dataRateCode(860) == nil)
    }

    @Test func conversionCodesToVolts() {
        let a = ADS1x15Chip.ads1115, b = ADS1x15Chip.ads1015
        #expect(a.code(fromConversion: 0x7FFF) == 32767 && a.code(fromConversion: 0x8000) == -32768 && a.code(fromConversion: 0xFFFF) == -1)
        #expect(b.code(fromConversion: 0x7FF0) == 2047 && b.code(fromConversion: 0x8000) == -2048 && b.code(fromConversion: 0xFFF0) == -1)
        #expect(a.volts(fromConversion: 0x4000, range: .fs4_096) == 2.048)
        #expect(a.volts(fromConversion: 0xC000, range: .fs0_256) == -0.128)
        #expect(b.volts(fromConversion: 0x4000, range: .fs2_048) == 1.024)
        #expect(a.volts(fromConversion: 0x0001, range: .fs4_096) == 0.000125)
    }

    /// A TMP36 on AIN1 (°C = (V − 0.5) × 100): the single-shot conversation, then 25 °C.
    @Test func voltageModeRunsTheSingleShotSequence() {
        let bus = RecordedADS1x15(conversions: [12000], busyPolls: 1)  // 12000 × 2.048 / 32768 = 0.75 V
        let config = ADS1x15SourceConfig(name: "tmp36", input: .ain1, range: 2.048, dataRate: 860,
                                         interval: .milliseconds(20), scale: 100, offset: -50, names: ADS1x15ChannelNames(value: "temp"))
        #expect(config.validate().isEmpty)
        let running = RunningSource(ADS1x15Source(unvalidated: config) { bus })
        #expect(waitUntil(60) { running.sink.count >= 2 })
        #expect(running.stopAndJoin(within: 10))
        #expect(running.sink.values(channel: 0).prefix(2) == [25, 25])
        // 0xD5E3: OS, AIN1, ±2.048 V, single-shot, 860 SPS, comparator off.
        #expect(Array(bus.log.prefix(4)) == ["W 01 D5E3", "R 01", "R 01", "R 00"])
        #expect(Array(bus.log.dropFirst(4).prefix(3)) == ["W 01 D5E3", "R 01", "R 00"])
        #expect(running.source.channels == [ChannelInfo(name: "temp", unit: "")])
        #expect(running.sink.changes.first == CollectingSink.Change(up: true, device: "/dev/i2c-1 address 0x48 ain1", reason: "reading /dev/i2c-1 address 0x48 ain1"))
    }

    /// Sound mode on a MAX4466-like output: a 43 Hz sine of 0.1 V amplitude on a 1.65 V bias at
    /// 860 SPS (20 samples a cycle): RMS 0.0707 V → −23.01 dBV, peak-to-peak 0.2 V; continuous mode
    /// set once (0x42E3: AIN0, ±4.096 V, continuous, 860 SPS), then conversion reads only.
    @Test func soundModeGivesLevelAndPeakToPeak() {
        let codes: [UInt16] = (0..<860).map { i in
            let v = 1.65 + 0.1 * sin(2 * Double.pi * Double(i) / 20)
            return UInt16(bitPattern: Int16((v / 4.096 * 32768).rounded()))
        }
        let bus = RecordedADS1x15(conversions: codes + codes)
        let config = ADS1x15SourceConfig(name: "hum", mode: .sound, window: .seconds(1), calibrationDB: 60)
        #expect(config.samplesPerSecond == 860 && config.validate().isEmpty)
        let running = RunningSource(ADS1x15Source(unvalidated: config) { bus })
        #expect(waitUntil(60) { running.sink.count >= 4 })
        #expect(running.stopAndJoin(within: 10))
        let level = running.sink.values(channel: 0), pp = running.sink.values(channel: 1)
        for i in 0..<2 {
            #expect(abs(level[i] - (20 * log10(0.1 / 2.0.squareRoot()) + 60)) < 0.01, "\(level[i])")
            #expect(abs(pp[i] - 0.2) <= 0.000125)
        }
        #expect(bus.log.first == "W 01 42E3" && bus.log.dropFirst().allSatisfy { $0 == "R 00" })
        #expect(running.source.counters.reads >= 1720 && running.source.counters.errors == 0)
    }

    /// A bus that fails: down once with the call and the OS's words, counted; back up when it answers.
    @Test func aFailingBusIsReportedDownThenUp() {
        let bus = RecordedADS1x15(conversions: [0x4000])
        bus.fail(true)
        let config = ADS1x15SourceConfig(name: "adc", dataRate: 860, interval: .milliseconds(20))
        let running = RunningSource(ADS1x15Source(unvalidated: config) { bus })
        #expect(waitUntil(60) { !running.sink.changes.isEmpty })
        bus.fail(false)
        #expect(waitUntil(60) { running.sink.count >= 1 })
        #expect(running.stopAndJoin(within: 10))
        #expect(Array(running.sink.changes.prefix(2)) == [
            CollectingSink.Change(up: false, device: "/dev/i2c-1 address 0x48 ain0", reason: "/dev/i2c-1 address 0x48: read 0x01: Input/output error"),
            CollectingSink.Change(up: true, device: "/dev/i2c-1 address 0x48 ain0", reason: "reading /dev/i2c-1 address 0x48 ain0"),
        ])
        #expect(running.sink.values(channel: 0).first == 2.048)
        #expect(running.source.counters.errors >= 1)
    }

    @Test func analogMeterWindows() {
        var m = AnalogLevelMeter(samplesPerWindow: 4)
        #expect(m.add(1) == nil && m.add(3) == nil && m.add(1) == nil)
        #expect(m.add(3) == AnalogLevelWindow(rmsVolts: 1, peakToPeakVolts: 2, samples: 4))
        for _ in 0..<3 { _ = m.add(2.5) }
        let flat = m.add(2.5)!
        #expect(flat == AnalogLevelWindow(rmsVolts: 0, peakToPeakVolts: 0, samples: 4) && flat.levelDB(calibration: 10) == -110)
    }

    @Test func configDecodingAndIssues() throws {
        let c = try JSONDecoder().decode(ADS1x15SourceConfig.self, from: Data(#"{"kind": "ads1x15", "chip": "ADS1015", "input": "ain2-ain3", "mode": "sound"}"#.utf8))
        #expect(c.chip == .ads1015 && c.input == .ain2MinusAin3 && c.samplesPerSecond == 3300 && c.validate().isEmpty)
        #expect(c.registerConfig?.word == 0x32C3)
        #expect(c.channelPaths.map(\.name) == ["level_db", "peak_to_peak_v"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ADS1x15SourceConfig.self, from: Data(#"{"input": "ain4"}"#.utf8)) }
        let bad = ADS1x15SourceConfig(name: "", bus: "i2c-1", address: 0x50, range: 5, dataRate: 475, interval: .milliseconds(1), scale: 0)
        #expect(bad.validate().map(\.description) == [
            "name: must not be empty",
            "bus: must be the bus's device path, such as /dev/i2c-1, got 'i2c-1'",
            "address: must be 0x48…0x4B (ADDR to GND, VDD, SDA or SCL), got 0x50",
            "range: must be 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 (± volts), got 5.0",
            "interval: must be at least 10ms, got 1ms",
            "scale: must be a finite number other than 0, got 0.0",
        ])
        let ads1015 = ADS1x15SourceConfig(chip: .ads1015, dataRate: 475)
        #expect(ads1015.validate().map(\.description) == ["data_rate: must be one of the ads1015's rates: 128, 250, 490, 920, 1600, 2400, 3300, got 475"])
    }
}
