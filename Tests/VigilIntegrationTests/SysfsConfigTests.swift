import Foundation
import Testing
import VigilAgent
import VigilCore
import VigilSources

/// `kind: dht_iio` and `kind: ds18b20` in a config file: defaults, every field, and each problem
/// named with its file, line and column.
@Suite struct SysfsConfigTests {
    static func yaml(_ source: String) -> String {
        "device: gw-1\nsources:\n" + source
    }

    func problems(_ yaml: String) -> [String] { configProblems(yaml) }

    func source(_ text: String) throws -> SourceConfig {
        let c = try ConfigLoader.parse(text, file: "t.yaml")
        return try #require(c.sources.first)
    }

    // MARK: dht_iio

    @Test func dhtIIODefaults() throws {
        let text = Self.yaml("  - kind: dht_iio\n")
        guard let s = try source(text).settings as? DHTIIOSourceConfig else { Issue.record("not dht_iio"); return }
        #expect(s.name == "dht_iio")
        #expect(s.path == nil && s.deviceName == nil && s.effectiveDeviceName == "dht11")
        #expect(s.root == "/sys/bus/iio/devices")
        #expect(s.interval == .seconds(10))
        #expect(s.channels == DHTIIOChannelNames(temperature: "temperature", humidity: "humidity"))
        #expect(s.retries == 2)
        let c = try ConfigLoader.parse(text, file: "t.yaml")
        #expect(c.channelNames.map(\.name) == ["temperature", "humidity"])
        // Building it reads nothing: the device is looked for when the source runs.
        let sources = try Agent.buildSources(c)
        #expect(sources.count == 1)
        #expect(sources[0] is DHTIIOSource)
        #expect(sources[0].channels == [ChannelInfo(name: "temperature", unit: "°C"), ChannelInfo(name: "humidity", unit: "%RH")])
        #expect((sources[0] as? DeviceStateReporting)?.portDescription == "iio device 'dht11' under /sys/bus/iio/devices")
        #expect(DHTIIOCounters().sourceCounters(source: "dht").counts.map(\.name) == ["reads", "eio", "etimedout", "other_errors", "garbage", "missing", "retries", "lost"])
    }

    @Test func dhtIIOEveryField() throws {
        let text = Self.yaml("""
              - kind: dht_iio
                name: greenhouse
                path: /sys/bus/iio/devices/iio:device0
                interval: 30s
                retries: 0
                channels: { temperature: air_temp, humidity: air_rh }
            """)
        guard let s = try source(text).settings as? DHTIIOSourceConfig else { Issue.record("not dht_iio"); return }
        #expect(s.name == "greenhouse" && s.path == "/sys/bus/iio/devices/iio:device0")
        #expect(s.interval == .seconds(30) && s.retries == 0)
        #expect(try ConfigLoader.parse(text, file: "t.yaml").channelNames.map(\.name) == ["air_temp", "air_rh"])
        let lookup = Self.yaml("  - kind: dht_iio\n    device_name: dht11@17\n    root: /tmp/fake-iio\n    channels: { humidity: rh }\n")
        guard let l = try source(lookup).settings as? DHTIIOSourceConfig else { Issue.record("not dht_iio"); return }
        #expect(l.deviceName == "dht11@17" && l.root == "/tmp/fake-iio")
        #expect(l.channels == DHTIIOChannelNames(temperature: "temperature", humidity: "rh"))
    }

    @Test func dhtIIOProblemsAreNamedWithTheirLines() {
        #expect(problems(Self.yaml("  - kind: dht_iio\n    interval: 1s\n")) == [
            "t.yaml:4:5: sources[0].interval: must be at least 2s (a DHT must not be read faster), got 1s",
        ])
        #expect(problems(Self.yaml("""
              - kind: dht_iio
                path: iio:device0
                device_name: dht11
                retries: 9
                channels: { temperature: t, humidity: t }
            """)) == [
            "t.yaml:4:5: sources[0].path: must be an absolute path like /sys/bus/iio/devices/iio:device0, got 'iio:device0'",
            "t.yaml:5:5: sources[0].device_name: set either path or device_name, not both",
            "t.yaml:6:5: sources[0].retries: must be between 0 and 5, got 9",
            "t.yaml:7:33: sources[0].channels.humidity: channel 't' is defined twice",
        ])
        #expect(problems(Self.yaml("  - kind: dht_iio\n    channels: { temperature: t, pressure: p }\n")) == [
            "t.yaml:4:33: sources[0].channels.pressure: unknown field 'pressure' (known: humidity, temperature)",
        ])
        #expect(problems(Self.yaml("  - kind: dht_iio\n    gpio: 4\n")) == [
            "t.yaml:4:5: sources[0].gpio: unknown field 'gpio' (known: channels, device_name, interval, kind, name, path, retries, root)",
        ])
        #expect(problems(Self.yaml("  - kind: dht_iio\n    interval: soon\n")) == [
            "t.yaml:4:5: sources[0].interval: 'soon' is not a duration (use e.g. 500ms, 20s, 5m, 1h)",
        ])
    }

    @Test func dhtIIOChannelsMustBeUniqueAcrossSources() {
        #expect(problems(Self.yaml("""
              - kind: dht_iio
              - kind: ds18b20
                sensors: [{ id: 28-0000075f4e21, channel: temperature }]
            """)) == [
            "t.yaml:5:38: sources[1].sensors[0].channel: channel 'temperature' is defined twice",
        ])
    }

    // MARK: ds18b20

    @Test func ds18b20ListedSensors() throws {
        let text = Self.yaml("""
              - kind: ds18b20
                name: tanks
                interval: 30s
                sensors:
                  - { id: 28-0000075f4e21, channel: tank_top }
                  - { id: 28-00000a1b2c3d }
            """)
        guard let s = try source(text).settings as? DS18B20SourceConfig else { Issue.record("not ds18b20"); return }
        #expect(s.name == "tanks" && s.interval == .seconds(30) && s.root == "/sys/bus/w1/devices")
        #expect(s.sensors == [DS18B20SensorConfig(id: "28-0000075f4e21", channel: "tank_top"), DS18B20SensorConfig(id: "28-00000a1b2c3d")])
        let c = try ConfigLoader.parse(text, file: "t.yaml")
        #expect(c.channelNames.map(\.name) == ["tank_top", "ds18b20_00000a1b2c3d"])
        // Listed sensors are not looked for when the source is built.
        let sources = try Agent.buildSources(c)
        #expect(sources[0].channels.map(\.name) == ["tank_top", "ds18b20_00000a1b2c3d"])
        #expect(DS18B20Counters().sourceCounters(source: "tanks").counts.map(\.name) == ["reads", "crc", "reset", "no_sensor", "empty", "garbage", "missing", "eio", "etimedout", "other_errors"])
    }

    @Test func ds18b20Defaults() throws {
        guard let s = try source(Self.yaml("  - kind: ds18b20\n")).settings as? DS18B20SourceConfig else { Issue.record("not ds18b20"); return }
        #expect(s.name == "ds18b20" && s.sensors == nil && s.root == "/sys/bus/w1/devices" && s.interval == .seconds(10))
        #expect(s.channelNames == [])
    }

    @Test func ds18b20ProblemsAreNamedWithTheirLines() {
        #expect(problems(Self.yaml("""
              - kind: ds18b20
                interval: 500ms
                sensors:
                  - { id: 28-0000075f4e21, channel: tank }
                  - { id: 28-0000075f4e21, channel: tank2 }
                  - { id: 0000075f4e21, channel: "" }
                  - { id: 28-00000a1b2c3d, channel: tank }
            """)) == [
            "t.yaml:4:5: sources[0].interval: must be at least 1s (a 12-bit conversion takes 750ms), got 500ms",
            "t.yaml:7:11: sources[0].sensors[1].id: '28-0000075f4e21' is already sensors[0]",
            "t.yaml:8:11: sources[0].sensors[2].id: must be a DS18B20 id like 28-0000075f4e21 (28- and 12 lower-case hex digits, the directory name under /sys/bus/w1/devices), got '0000075f4e21'",
            "t.yaml:8:29: sources[0].sensors[2].channel: must not be empty",
            "t.yaml:8:29: sources[0].sensors[2].channel: channel names appear in topics: use only letters, digits, '.', '_' or '-', got ''",
            "t.yaml:9:32: sources[0].sensors[3].channel: channel 'tank' is defined twice",
        ])
        #expect(problems(Self.yaml("  - kind: ds18b20\n    sensors: []\n")) == [
            "t.yaml:4:5: sources[0].sensors: must list at least one sensor (or leave sensors out to read every 28-* sensor found)",
        ])
        #expect(problems(Self.yaml("  - kind: ds18b20\n    sensors:\n      - { id: 28-0000075f4e21, name: x }\n")) == [
            "t.yaml:5:32: sources[0].sensors[0].name: unknown field 'name' (known: channel, id)",
        ])
        #expect(problems(Self.yaml("  - kind: ds18b20\n    sensors:\n      - { channel: x }\n")) == [
            "t.yaml:5:9: sources[0].sensors[0].id: missing required field 'id'",
        ])
    }

    @Test func ds18b20WithoutSensorsLooksForThemWhenBuilt() throws {
        var template = Array("/tmp/vigil-w1-XXXXXX".utf8CString)
        let root = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let text = Self.yaml("  - kind: ds18b20\n    root: \(root)\n")
        let empty = try ConfigLoader.parse(text, file: "t.yaml")
        #expect(throws: ConfigIssueList.self) { try Agent.buildSources(empty) }
        do { _ = try Agent.buildSources(empty) } catch {
            #expect(error.issues.map(\.description) == [
                "sources[0].sensors: none listed, and no DS18B20 (28-*) is under \(root) (is dtoverlay=w1-gpio set and a sensor wired?)",
            ])
        }
        try FileManager.default.createDirectory(atPath: root + "/28-0000075f4e21", withIntermediateDirectories: false)
        let sources = try Agent.buildSources(try ConfigLoader.parse(text, file: "t.yaml"))
        #expect(sources[0].channels.map(\.name) == ["ds18b20_0000075f4e21"])
    }

    @Test func theShippedDS18B20SampleIsValid() throws {
        let path = #filePath.replacingSuffix("Tests/VigilIntegrationTests/SysfsConfigTests.swift", with: "examples/ds18b20.yaml")
        let c = try ConfigLoader.load(path: path)
        #expect(c.channelNames.map(\.name) == ["tank_top", "tank_bottom", "air_temp", "air_rh"])
        let sources = try Agent.buildSources(c)
        #expect(sources.map(\.name) == ["tanks", "air"])
    }

    @Test func unknownKindListsTheSysfsKinds() {
        let p = problems(Self.yaml("  - kind: dht-iio\n"))
        #expect(p.count == 1)
        #expect(p.first?.hasPrefix("t.yaml:3:5: sources[0].kind: unknown source kind 'dht-iio' (known: ") == true)
        #expect(p.first?.contains("dht_iio, ds18b20") == true)
    }
}
