import Testing
import VigilAgent
import VigilCore
import VigilSources

/// `kind: bme280` through the real config loader: defaults, and problems placed at their line.
@Suite struct BME280ConfigTests {
    func problems(_ yaml: String) -> [String] { configProblems(yaml) }

    @Test func defaults() throws {
        let c = try ConfigLoader.parse("device: gw\nsources:\n  - kind: bme280\n", file: "t.yaml")
        let s = try #require(c.sources.first?.settings as? BME280SourceConfig)
        #expect(s.name == "bme280" && s.bus == "/dev/i2c-1" && s.address == 0x76 && s.interval == .seconds(10))
        #expect(s.oversampling == BME280Oversampling(temperature: 1, pressure: 1, humidity: 1))
        #expect(c.channelNames.map(\.name) == ["temperature", "humidity", "pressure"])
        let sources = try Agent.buildSources(c)
        #expect((sources[0] as? DeviceStateReporting)?.portDescription == "/dev/i2c-1 address 0x76")
        #expect(sources[0].channels.map(\.unit) == ["°C", "%RH", "hPa"])
    }

    @Test func problemsAreNamedWithTheirLine() {
        let yaml = """
            device: gw
            sources:
              - kind: bme280
                bus: /dev/i2c-1
                address: 0x50
                interval: 100ms
                oversampling: { temperature: 2, humidity: 3 }
                channels: { pressure: temperature }
            """
        #expect(problems(yaml) == [
            "t.yaml:5:5: sources[0].address: must be 0x76 (SDO to GND) or 0x77 (SDO to VDDIO), got 0x50",
            "t.yaml:6:5: sources[0].interval: must be at least 1s, got 100ms",
            "t.yaml:7:37: sources[0].oversampling.humidity: must be 1, 2, 4, 8 or 16, got 3",
            "t.yaml:8:17: sources[0].channels.pressure: channel 'temperature' is defined twice",
        ])
        #expect(problems(yaml.replacing("    address: 0x50\n", with: "    adress: 0x77\n")).first
                == "t.yaml:5:5: sources[0].adress: unknown field 'adress' (known: address, bus, channels, interval, kind, name, oversampling)")
    }
}
