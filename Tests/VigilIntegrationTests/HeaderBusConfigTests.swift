import Testing
import VigilAgent
import VigilCore
import VigilSources
import Foundation

/// The presets' I²C and I²S pins: GPIO sources may not use the lines of a bus an ADS1x15, a BME280
/// or an I²S microphone of the same config uses, and `vigil check --board` names the config.txt
/// lines those sources need.
@Suite struct HeaderBusConfigTests {
    static let good = """
        device: gw-1
        board: rpi-4b
        sources:
          - kind: ads1x15
            name: hum
            bus: /dev/i2c-1
            mode: sound
            names: { level: hum_db, peak_to_peak: hum_pp }
          - kind: microphone
            name: mic
            device: plughw:CARD=adau7002,DEV=0
            interface: i2s
          - kind: gpio
            name: room
            inputs:
              - { line: 27, mode: activity, edges: sound_events, duty: sound_duty }
          - kind: dht
            name: climate
            model: dht22
            line: 17
        """

    func problems(_ yaml: String) -> [String] { configProblems(yaml) }

    @Test func busesAndGPIOLinesThatDoNotMeetAreFine() throws {
        let c = try ConfigLoader.parse(Self.good, file: "t.yaml")
        #expect(c.sources.map(\.headerBuses) == [[HeaderBusUse(.i2c(device: "/dev/i2c-1"), path: ["bus"])],
                                                 [HeaderBusUse(.i2s, path: ["interface"])], [], []])
    }

    @Test func aGPIOInputOnTheI2CBusOfAnADCIsRejectedNamingTheADC() {
        let yaml = Self.good.replacing("{ line: 27,", with: "{ line: 2,")
        #expect(problems(yaml) == ["t.yaml:16:11: sources[2].inputs[0].line: GPIO2 (header pin 3) is SDA1 of I2C1 (/dev/i2c-1) on Raspberry Pi 4 Model B, which sources[0] 'hum' (ads1x15) uses; free for sensors: 4-13, 16-17, 22-27"])
    }

    @Test func aDHTOnTheI2SDataLineOfAMicrophoneIsRejectedNamingTheMicrophone() {
        let yaml = Self.good.replacing("    line: 17", with: "    line: 20")
        #expect(problems(yaml) == ["t.yaml:20:5: sources[3].line: GPIO20 (header pin 38) is PCM_DIN of I2S on Raspberry Pi 4 Model B, which sources[1] 'mic' (microphone) uses; free for sensors: 4-13, 16-17, 22-27"])
        // GPIO21 (PCM_DOUT) too: the I²S function takes all four pins, though a microphone only reads.
        let dout = Self.good.replacing("    line: 17", with: "    line: 21")
        #expect(problems(dout).first?.hasPrefix("t.yaml:20:5: sources[3].line: GPIO21 (header pin 40) is PCM_DOUT of I2S on ") == true)
    }

    @Test func aBME280TakesI2C1TooAndABusThePresetDoesNotKnowIsLeftAlone() {
        let bme = """
            device: gw-1
            board: rpi-5
            sources:
              - kind: bme280
                name: air
              - kind: dht
                name: climate
                model: dht22
                channels: { temperature: t2, humidity: h2 }
                line: 3
            """
        #expect(problems(bme) == ["t.yaml:10:5: sources[1].line: GPIO3 (header pin 5) is SCL1 of I2C1 (/dev/i2c-1) on Raspberry Pi 5, which sources[0] 'air' (bme280) uses; free for sensors: 4-13, 16-27"])
        // An i2c-gpio bus elsewhere: its pins are the overlay's, not the preset's.
        #expect(problems(bme.replacing("    name: air\n", with: "    name: air\n    bus: /dev/i2c-3\n")) == [])
        // A USB microphone takes no header pins.
        let usb = Self.good.replacing("    interface: i2s\n", with: "").replacing("    line: 17", with: "    line: 20")
        #expect(problems(usb) == [])
        // Without a board (not a Pi, board: none) nothing is checked.
        #expect(problems(bme.replacing("board: rpi-5", with: "board: none")) == [])
    }

    @Test func anUnknownInterfaceIsNamed() {
        let yaml = Self.good.replacing("interface: i2s", with: "interface: pcm")
        #expect(problems(yaml) == ["t.yaml:12:5: sources[1].interface: 'pcm' is not a microphone interface (known: usb, i2s)"])
    }

    @Test func theSetupNamesTheDTParamAndTheOverlayOnceEach() throws {
        let c = try ConfigLoader.parse(Self.good, file: "t.yaml")
        #expect(c.setup(on: Boards.pi5) == [
            BoardSetupLine(line: "dtparam=i2c_arm=on", neededBy: "sources[0] 'hum' (ads1x15)"),
            BoardSetupLine(line: "dtparam=i2s=on", neededBy: "sources[1] 'mic' (microphone)"),
            BoardSetupLine(line: "dtoverlay=adau7002-simple", neededBy: "sources[1] 'mic' (microphone)"),
        ])
        #expect(c.describeSetup(on: Boards.pi5) == """
            On Raspberry Pi 5 this config needs in /boot/firmware/config.txt (then a reboot):
              dtparam=i2c_arm=on          for sources[0] 'hum' (ads1x15)
              dtparam=i2s=on              for sources[1] 'mic' (microphone)
              dtoverlay=adau7002-simple   for sources[1] 'mic' (microphone)

            """)
        let twoOnOneBus = Self.good.replacing("          - kind: gpio", with: "          - kind: bme280\n            name: air\n          - kind: gpio")
        #expect(try ConfigLoader.parse(twoOnOneBus, file: "t.yaml").setup(on: Boards.pi5).map(\.line)
                == ["dtparam=i2c_arm=on", "dtparam=i2s=on", "dtoverlay=adau7002-simple"])
        let plain = try ConfigLoader.parse(Self.good.replacing("    interface: i2s\n", with: "").replacing("    bus: /dev/i2c-1\n", with: "    bus: /dev/i2c-3\n"), file: "t.yaml")
        #expect(plain.describeSetup(on: Boards.pi5) == nil)
    }

    @Test func checkWithABoardRejectsTheConflictAndPrintsTheSetup() throws {
        let dir = try Repo.temporaryDirectory("headerbus")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/vigil.yaml"
        try Self.good.replacing("board: rpi-4b\n", with: "").write(toFile: path, atomically: true, encoding: .utf8)
        let ok = try #require(try Command.run(Vigil.binary, ["check", "--config", path, "--board", "rpi-5"]))
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.stdout.hasPrefix("""
            \(path): OK — device 'gw-1', 4 source(s), channels: hum_db, hum_pp, level_db, peak_db, sound_events, sound_duty, temperature, humidity, broker mqtt://127.0.0.1:1883
            On Raspberry Pi 5 this config needs in /boot/firmware/config.txt (then a reboot):
              dtparam=i2c_arm=on          for sources[0] 'hum' (ads1x15)
              dtparam=i2s=on              for sources[1] 'mic' (microphone)
              dtoverlay=adau7002-simple   for sources[1] 'mic' (microphone)
            Raspberry Pi 5 (rpi-5)

            """), "\(ok.stdout)")
        try Self.good.replacing("board: rpi-4b\n", with: "").replacing("{ line: 27,", with: "{ line: 19,")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try #require(try Command.run(Vigil.binary, ["check", "--config", path, "--board", "rpi-5"]))
        #expect(bad.status == 78)
        #expect(bad.stderr == "\(path):15:11: sources[2].inputs[0].line: GPIO19 (header pin 35) is PCM_FS/LRCLK of I2S on Raspberry Pi 5, which sources[1] 'mic' (microphone) uses; free for sensors: 4-13, 16-17, 22-27\n", "\(bad)")
    }

    @Test(arguments: Boards.all.map(\.id))
    func everyPresetKnowsI2C1AndTheI2SPins(id: String) throws {
        let b = try #require(Boards.named(id))
        #expect(b.bus(for: .i2c(device: "/dev/i2c-1"))?.lines == [.init(2, "SDA1"), .init(3, "SCL1")])
        #expect(b.bus(for: .i2c(device: "/dev/i2c-1"))?.enable == ["dtparam=i2c_arm=on"])
        #expect(b.bus(for: .i2s)?.lines.map(\.line) == [18, 19, 20, 21])
        #expect(b.bus(for: .i2s)?.enable == ["dtparam=i2s=on", "dtoverlay=adau7002-simple"])
        #expect(b.bus(for: .i2c(device: "/dev/i2c-0")) == nil)
        #expect(b.describe().contains("  I2C1 (/dev/i2c-1): GPIO2 SDA1 (pin 3), GPIO3 SCL1 (pin 5); enable with dtparam=i2c_arm=on\n"))
        #expect(b.describe().contains("  I2S (PCM): GPIO18 PCM_CLK/BCLK (pin 12), GPIO19 PCM_FS/LRCLK (pin 35), GPIO20 PCM_DIN (pin 38), GPIO21 PCM_DOUT (pin 40)\n"))
    }
}
