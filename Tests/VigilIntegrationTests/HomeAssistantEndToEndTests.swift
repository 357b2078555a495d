import Foundation
import Testing
import VigilTestSupport

/// Home Assistant discovery through a real mosquitto: retained config messages with the documented
/// fields, availability that follows the agent's status (offline on SIGKILL through the last will), and
/// entities removed with an empty retained payload when their source leaves the config.
@Suite(.serialized) struct HomeAssistantEndToEndTests {
    static let sound = """
          - kind: simulator
            name: noise
            rate: 5
            channels:
              - { name: sound, unit: "dB", mean: 55, std: 2, resolution: 0.1 }
        """

    static func config(port: Int, withSound: Bool) -> String {
        AgentEndToEndTests.config(port: port, extra: "home_assistant: { discovery_prefix: ha-test, name: Greenhouse }")
            .replacingOccurrences(of: "\nhome_assistant", with: (withSound ? "\n" + sound : "") + "\nhome_assistant")
    }

    static let climateTopics = ["temperature", "humidity"].flatMap { c in
        ["ha-test/sensor/itest/\(c)/config"] + ["anomaly", "stuck", "dropout"].map { "ha-test/binary_sensor/itest/\(c)_\($0)/config" }
    }
    static let soundTopics = ["ha-test/sensor/itest/sound/config"] + ["anomaly", "stuck", "dropout"].map { "ha-test/binary_sensor/itest/sound_\($0)/config" }

    func json(_ s: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] ?? [:] }

    @Test func retainedConfigsAvailabilityAndRemoval() throws {
        let broker = try MosquittoBroker()
        let status = try MQTTSubscriber(port: broker.port, topics: ["vigil/itest/status"])
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ha-\(UUID().uuidString.prefix(8))").path
        let first = try VigilProcess(config: Self.config(port: broker.port, withSound: true), arguments: [], stateDirectory: state)
        _ = status.waitUntil(timeout: 60) { $0.contains { $0.statusState == "online" } }

        // A subscriber arriving later (Home Assistant starting) gets every config, retained.
        let ha = try MQTTSubscriber(port: broker.port, topics: ["ha-test/#"])
        let all = Self.climateTopics + Self.soundTopics
        let configs = ha.waitUntil(timeout: 60) { Set($0.map(\.topic)).isSuperset(of: all) }
        #expect(Set(configs.map(\.topic)) == Set(all), "\(first.stderr)")
        #expect(configs.allSatisfy { $0.retained })

        let sensor = json(configs.first { $0.topic == "ha-test/sensor/itest/temperature/config" }?.payload ?? "")
        #expect(sensor["name"] as? String == "temperature")
        #expect(sensor["unique_id"] as? String == "vigil_itest_temperature")
        #expect(sensor["state_topic"] as? String == "vigil/itest/summary/temperature")
        #expect(sensor["value_template"] as? String == "{{ value_json.mean }}")
        #expect(sensor["unit_of_measurement"] as? String == "°C")
        #expect(sensor["device_class"] as? String == "temperature")
        #expect(sensor["state_class"] as? String == "measurement")
        #expect(sensor["qos"] as? Int == 1)
        let availability = sensor["availability"] as? [[String: String]]
        #expect(availability == [["topic": "vigil/itest/status", "value_template": "{{ value_json.state }}",
                                  "payload_available": "online", "payload_not_available": "offline"]])
        let device = sensor["device"] as? [String: Any]
        #expect(device?["identifiers"] as? [String] == ["vigil_itest"])
        #expect(device?["name"] as? String == "Greenhouse")
        #expect(device?["manufacturer"] as? String == "Vigil")
        #expect((sensor["origin"] as? [String: String])?["name"] == "Vigil")
        let soundSensor = json(configs.first { $0.topic == "ha-test/sensor/itest/sound/config" }?.payload ?? "")
        #expect(soundSensor["device_class"] as? String == "sound_pressure")
        let humidity = json(configs.first { $0.topic == "ha-test/sensor/itest/humidity/config" }?.payload ?? "")
        #expect(humidity["unit_of_measurement"] as? String == "%")
        let anomaly = json(configs.first { $0.topic == "ha-test/binary_sensor/itest/temperature_anomaly/config" }?.payload ?? "")
        #expect(anomaly["device_class"] as? String == "problem")
        #expect(anomaly["state_topic"] as? String == "vigil/itest/anomaly/temperature")

        // What Home Assistant's availability template sees on SIGKILL: the will says offline.
        first.kill()
        let afterKill = status.waitUntil(timeout: 60) { $0.last?.statusState == "offline" }
        #expect(afterKill.last?.statusState == "offline")
        #expect(afterKill.last?.status?["clean"] as? Bool == false)

        // The next run, without the noise source, removes its entities: empty retained payloads.
        let removals = try MQTTSubscriber(port: broker.port, topics: Self.soundTopics)
        _ = removals.waitFor(count: Self.soundTopics.count, timeout: 30)
        let second = try VigilProcess(config: Self.config(port: broker.port, withSound: false), arguments: [], stateDirectory: state)
        let removed = removals.waitUntil(timeout: 60) { ms in Self.soundTopics.allSatisfy { t in ms.contains { $0.topic == t && $0.payload.isEmpty } } }
        #expect(Set(removed.filter { $0.payload.isEmpty }.map(\.topic)) == Set(Self.soundTopics), "\(second.stderr)")
        #expect(second.stderr.contains("Home Assistant entity removed topic=ha-test/sensor/itest/sound/config"), "\(second.stderr)")

        // A late subscriber finds only the climate entities.
        _ = status.waitUntil(timeout: 60) { $0.last?.statusState == "online" }
        let late = try MQTTSubscriber(port: broker.port, topics: ["ha-test/#"])
        let left = late.waitUntil(timeout: 60) { Set($0.map(\.topic)).isSuperset(of: Self.climateTopics) }
        #expect(Set(left.map(\.topic)) == Set(Self.climateTopics))
        second.terminate()
        #expect(second.waitForExit(timeout: 30))
        #expect(second.exitStatus == 0)
    }
}
