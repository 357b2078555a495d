import Testing
import VigilAgent
import VigilCore
import VigilSources
import VigilTestSupport
import Foundation

@Suite struct GPIOConfigTests {
    static let good = """
        device: gw-1
        board: rpi-4b
        sources:
          - kind: dht
            name: climate
            model: dht22
            line: 4
            channels: { temperature: air_t, humidity: air_h }
          - kind: gpio
            name: noise
            window: 500ms
            inputs:
              - { line: 17, mode: activity, edges: sound_events, duty: sound_duty }
              - { line: 27, mode: level, channel: door, debounce: 20ms, active_low: true, bias: pull-up }
        """

    func problems(_ yaml: String, detected: Board? = nil) -> [String] {
        do {
            _ = try ConfigLoader.parse(yaml, file: "t.yaml", detectedBoard: detected)
            return []
        } catch {
            return error.problems.map { "t.yaml:\($0)" }
        }
    }

    @Test func aGoodFileGivesBothSourcesOnTheBoardsHeaderChip() throws {
        let c = try ConfigLoader.parse(Self.good, file: "t.yaml")
        #expect(c.channelNames.map(\.name) == ["air_t", "air_h", "sound_events", "sound_duty", "door"])
        let sources = try Agent.buildSources(c)
        let dht = try #require(sources[0] as? DHTSource)
        #expect(dht.chipName == "pinctrl-bcm2711")
        #expect(dht.config.interval == .seconds(10) && dht.config.retries == 2 && dht.config.bias == .asIs)
        #expect(dht.channels == [ChannelInfo(name: "air_t", unit: "°C"), ChannelInfo(name: "air_h", unit: "%RH")])
        #expect(dht.portDescription == "pinctrl-bcm2711 line 4")
        let gpio = try #require(sources[1] as? DigitalInputSource)
        #expect(gpio.channels.map(\.name) == ["sound_events", "sound_duty", "door"])
        #expect(gpio.config.window == .milliseconds(500))
        #expect(gpio.config.inputs[1].debounce == .milliseconds(20) && gpio.config.inputs[1].activeLow && gpio.config.inputs[1].bias == .pullUp)
    }

    @Test func aReservedPinIsRejectedWithTheReasonAndTheFreePins() {
        let yaml = Self.good.replacing("    line: 4\n", with: "    line: 14\n")
        #expect(problems(yaml) == ["t.yaml:7:5: sources[0].line: GPIO14 (header pin 8) is reserved on Raspberry Pi 4 Model B: TXD of the header UART (/dev/serial0 = /dev/ttyS0 when enable_uart=1); free for sensors: 2-13, 16-27"])
    }

    @Test func aPinTheHeaderDoesNotHaveIsRejected() {
        let yaml = Self.good.replacing("{ line: 17,", with: "{ line: 30,")
        #expect(problems(yaml) == ["t.yaml:13:11: sources[1].inputs[0].line: GPIO30 is not on the 40-pin header of Raspberry Pi 4 Model B (header GPIOs: 0-27; free for sensors: 2-13, 16-27)"])
    }

    @Test func autoDetectedBoardChecksLinesToo() {
        let yaml = Self.good.replacing("board: rpi-4b\n", with: "").replacing("{ line: 27,", with: "{ line: 0,")
        let pi5 = Boards.named("rpi-5")!
        #expect(problems(yaml, detected: pi5).count == 1)
        #expect(problems(yaml, detected: pi5).first?.hasPrefix("t.yaml:13:11: sources[1].inputs[1].line: GPIO0 (header pin 27) is reserved on Raspberry Pi 5: ") == true)
        // Not a Pi (no device tree): no board, nothing to check here.
        #expect(problems(yaml, detected: nil) == [])
        // board: none turns the checks off even on a Pi.
        #expect(problems("board: none\n" + yaml, detected: pi5) == [])
    }

    @Test func unknownBoardIsNamed() {
        let yaml = Self.good.replacing("board: rpi-4b", with: "board: rpi-9")
        #expect(problems(yaml) == ["t.yaml:2:1: board: no preset called 'rpi-9' (presets: rpi-zero-2w, rpi-3b-plus, rpi-4b, rpi-5; or auto, none)"])
    }

    @Test func aChipOfTheBoardThatIsNotOnTheHeaderIsRejectedOnceAndAnExpanderIsLeftAlone() {
        let onExpander = Self.good.replacing("    window: 500ms\n", with: "    window: 500ms\n    chip: raspberrypi-exp-gpio\n")
        #expect(problems(onExpander).count == 1)
        #expect(problems(onExpander).first?.hasPrefix("t.yaml:12:5: sources[1].chip: gpiochip 'raspberrypi-exp-gpio' on Raspberry Pi 4 Model B is not wired to the 40-pin header") == true)
        let onMCP = Self.good.replacing("    window: 500ms\n", with: "    window: 500ms\n    chip: mcp23017\n")
        #expect(problems(onMCP) == [])
    }

    @Test func withoutABoardAGPIOSourceMustNameItsChip() {
        let yaml = Self.good.replacing("board: rpi-4b", with: "board: none")
        let c = try! ConfigLoader.parse(yaml, file: "t.yaml")
        do {
            _ = try Agent.buildSources(c)
            Issue.record("built GPIO sources without a chip")
        } catch {
            #expect(error.issues.map(\.field) == ["sources[0].chip", "sources[1].chip"])
            #expect(error.issues[0].message == "set chip to a gpiochip label, name or path (vigil probe lists them): board is none, so there is no default header chip")
        }
    }

    @Test func dhtFieldChecks() {
        let yaml = Self.good
            .replacing("    model: dht22\n", with: "    model: dht21\n")
        #expect(problems(yaml) == ["t.yaml:6:5: sources[0].model: 'dht21' is not a DHT model (known: dht11, dht22, am2302)"])
        let fast = Self.good.replacing("    line: 4\n", with: "    line: 4\n    interval: 1s\n    retries: 9\n")
        #expect(problems(fast) == [
            "t.yaml:8:5: sources[0].interval: must be at least 2s: DHT sensors give stale or no data when read faster, got 1s",
            "t.yaml:9:5: sources[0].retries: must be between 0 and 5, got 9",
        ])
        let same = Self.good.replacing("humidity: air_h", with: "humidity: air_t")
        #expect(problems(same) == ["t.yaml:8:37: sources[0].channels.humidity: 'air_t' is also the temperature channel",
                                   "t.yaml:8:37: sources[0].channels.humidity: channel 'air_t' is defined twice"])
        let noModel = Self.good.replacing("    model: dht22\n", with: "")
        #expect(problems(noModel) == ["t.yaml:4:5: sources[0].model: missing required field 'model'"])
    }

    @Test func digitalInputFieldChecks() {
        let yaml = Self.good
            .replacing("{ line: 17, mode: activity, edges: sound_events, duty: sound_duty }", with: "{ line: 27, mode: activity, channel: x }")
            .replacing("debounce: 20ms", with: "debounce: 600ms")
        #expect(problems(yaml) == [
            "t.yaml:13:21: sources[1].inputs[0].mode: an activity input needs a channel: set edges, duty or both",
            "t.yaml:13:37: sources[1].inputs[0].channel: an activity input has edges and duty channels, not channel",
            "t.yaml:14:11: sources[1].inputs[1].line: line 27 is already inputs[0]",
            "t.yaml:14:49: sources[1].inputs[1].debounce: must be shorter than the window (500ms), got 600ms",
        ])
        let unknown = Self.good.replacing("mode: level", with: "mode: level, pull: up")
        #expect(problems(unknown).first?.contains("unknown field 'pull'") == true)
    }

    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/gpio.yaml").path

    @Test func theShippedGPIOSampleBuildsOnAPiAndAsksForAChipElsewhere() throws {
        let c = try ConfigLoader.load(path: Self.example)
        #expect(c.board == "auto")
        #expect(c.channelNames.map(\.name) == ["temperature", "humidity", "sound_events", "sound_duty", "door"])
        let onPi5 = try Agent.buildSources(c, board: Boards.named("rpi-5"))
        #expect((onPi5[0] as? DHTSource)?.chipName == "pinctrl-rp1")
        #expect((onPi5[1] as? DigitalInputSource)?.portDescription == "pinctrl-rp1 lines 27,22")
        #expect(throws: ConfigIssueList.self) { try Agent.buildSources(c, board: .some(nil)) }
    }

    @Test func checkWithABoardChecksTheConfigsLinesAgainstIt() throws {
        let yaml = try String(contentsOfFile: Self.example, encoding: .utf8).replacing("line: 22,", with: "line: 15,")
        let check = try VigilProcess(config: yaml, command: "check", arguments: ["--board", "rpi-5"])
        #expect(check.waitForExit(timeout: 30))
        #expect(check.exitStatus == 78)
        #expect(check.stderr.hasSuffix("vigil.yaml:43:11: sources[1].inputs[1].line: GPIO15 (header pin 10) is reserved on Raspberry Pi 5: RXD0 of UART0 (/dev/ttyAMA0 with dtparam=uart0=on); free for sensors: 2-13, 16-27"), "\(check.stderr)")
        let ok = try VigilProcess(config: try String(contentsOfFile: Self.example, encoding: .utf8), command: "check", arguments: ["--board", "rpi-5"])
        #expect(ok.waitForExit(timeout: 30))
        #expect(ok.exitStatus == 0, "\(ok.stderr)")
    }
}
