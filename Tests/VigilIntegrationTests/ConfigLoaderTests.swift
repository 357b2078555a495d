import Testing
import VigilAgent
import VigilCore

@Suite struct ConfigLoaderTests {
    static let good = """
        device: gw-1
        mqtt:
          broker: mqtt://127.0.0.1:1999
        detector:
          window: 30
          z_on: 5
        channels:
          humidity: { z_on: 6 }
        sources:
          - kind: simulator
            channels:
              - { name: temperature, unit: "°C", mean: 22, std: 0.3 }
              - { name: humidity, unit: "%RH", mean: 45, std: 1 }
        """

    func problems(_ yaml: String) -> [String] { configProblems(yaml) }

    @Test func aGoodFileLoadsWithDefaultsAndOverrides() throws {
        let c = try ConfigLoader.parse(Self.good, file: "t.yaml")
        #expect(c.device == "gw-1")
        #expect(c.mqtt.broker == "mqtt://127.0.0.1:1999")
        #expect(c.mqtt.keepalive == .seconds(30))
        #expect(c.summary.interval == .seconds(60))
        // z_on set: fixed thresholds over the two-scale defaults, no false-alarm budget
        var expected = DetectorSettings.defaults
        expected.windowSize = 30; expected.zOn = 5; expected.falseAlarmsPerDay = nil
        #expect(c.detectorSettings(forChannel: "temperature") == expected)
        expected.zOn = 6
        #expect(c.detectorSettings(forChannel: "humidity") == expected)
        #expect(c.channelNames.map(\.name) == ["temperature", "humidity"])
    }

    @Test func theShippedSampleIsValid() throws {
        let c = try ConfigLoader.load(path: #filePath.replacingSuffix("Tests/VigilIntegrationTests/ConfigLoaderTests.swift", with: "examples/simulator.yaml"))
        #expect(c.channelNames.map(\.name) == ["temperature", "humidity", "sound"])
        #expect(try Agent.buildSources(c).count == 1)
    }

    @Test func unknownFieldIsNamedWithItsLine() {
        let yaml = Self.good.replacing("  z_on: 5", with: "  z_onn: 5")
        #expect(problems(yaml) == ["t.yaml:6:3: detector.z_onn: unknown field 'z_onn' (known: alpha, end_after, false_alarms_per_day, health, hold_out, kind, smoothing, spikes, std_floor, warmup, window, window_duration, z_off, z_on)"])
    }

    @Test func wrongTypeIsNamedWithItsLine() {
        let yaml = Self.good.replacing("window: 30", with: "window: thirty")
        #expect(problems(yaml) == ["t.yaml:5:3: detector.window: expected a whole number, found 'thirty'"])
    }

    @Test func missingRequiredField() {
        let yaml = Self.good.replacing("device: gw-1\n", with: "")
        #expect(problems(yaml) == ["t.yaml:1:1: device: missing required field 'device'"])
    }

    @Test func semanticProblemsAreAllReported() {
        let yaml = Self.good.replacing("  z_on: 5", with: "  z_on: 2\n  z_off: 3")
            .replacing("device: gw-1", with: "device: gw/1")
        #expect(problems(yaml) == [
            "t.yaml:1:1: device: must be non-empty and use only letters, digits, '.', '_' or '-', got 'gw/1'",
            "t.yaml:7:3: detector.z_off: must not exceed z_on (2.0), got 3.0",
        ])
    }

    @Test func overrideForAnUnknownChannel() {
        let yaml = Self.good.replacing("humidity: { z_on: 6 }", with: "humidty: { z_on: 6 }")
        #expect(problems(yaml) == ["t.yaml:8:3: channels.humidty: no source has a channel named 'humidty' (channels: humidity, temperature)"])
    }

    @Test func badBrokerURL() {
        let yaml = Self.good.replacing("mqtt://127.0.0.1:1999", with: "tcp://127.0.0.1:1999")
        #expect(problems(yaml) == ["t.yaml:3:3: mqtt.broker: 'tcp://127.0.0.1:1999' is not an mqtt:// or mqtts:// URL"])
    }

    @Test func unknownSourceKind() {
        let yaml = Self.good.replacing("kind: simulator", with: "kind: telepathy")
        #expect(problems(yaml) == ["t.yaml:10:5: sources[0].kind: unknown source kind 'telepathy' (known: simulator, serial, dht, gpio, dht_iio, ds18b20, bme280, microphone, ads1x15)"])
    }

    @Test func yamlSyntaxError() {
        let p = problems("device: [gw-1\nsources: []\n")
        #expect(p.count == 1)
        #expect(p[0].hasPrefix("t.yaml:2:"))
        #expect(p[0].contains("YAML syntax"))
    }

    @Test func simulatorParametersAreCheckedWhenSourcesAreBuilt() throws {
        let c = try ConfigLoader.parse(Self.good.replacing("mean: 45, std: 1", with: "mean: 45, std: 0"), file: "t.yaml")
        #expect(throws: ConfigIssueList.self) { try Agent.buildSources(c) }
        do { _ = try Agent.buildSources(c) } catch {
            #expect(error.issues.map(\.description) == ["sources[0].channels[1].std: must be > 0"])
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
