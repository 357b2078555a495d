import Testing
import VigilCore

/// Home Assistant's MQTT discovery, field by field against its documented schema: the config topic
/// `<discovery_prefix>/<component>/<node_id>/<object_id>/config` (ids in `[a-zA-Z0-9_-]`), `unique_id`,
/// `state_topic` with `value_template`, `unit_of_measurement`/`device_class`/`state_class` for a sensor,
/// `payload_on`/`payload_off` and `device_class: problem` for a binary sensor, `availability` from the
/// agent's retained JSON status, and the shared `device` and `origin` blocks.
@Suite struct HomeAssistantDiscoveryTests {
    let discovery = HomeAssistantDiscovery(device: "gw-1", topicPrefix: "vigil", settings: HomeAssistantConfig(), model: "Raspberry Pi 4 Model B")
    let temperature = HomeAssistantDiscovery.Channel(ChannelInfo(name: "temperature", unit: "°C"), health: HealthSettings(min: -40, max: 80))
    let humidity = HomeAssistantDiscovery.Channel(ChannelInfo(name: "humidity", unit: "%RH"), health: HealthSettings(stuckAfter: nil, dropoutAfter: nil, maxRate: 5))
    static let common = #""availability":[{"topic":"vigil/gw-1/status","value_template":"{{ value_json.state }}","payload_available":"online","payload_not_available":"offline"}],"qos":1,"device":{"identifiers":["vigil_gw-1"],"name":"gw-1","manufacturer":"Vigil","model":"Raspberry Pi 4 Model B","sw_version":"0.1.0"},"origin":{"name":"Vigil","sw_version":"0.1.0"}"#

    func text(_ m: OutboundMessage) -> String { String(decoding: m.payload, as: UTF8.self) }

    @Test func oneSensorAnAnomalyAndOneProblemPerEnabledCheckPerChannel() {
        let messages = discovery.messages(channels: [temperature, humidity], multivariate: ["env"])
        #expect(messages.map(\.topic) == [
            "homeassistant/sensor/gw-1/temperature/config",
            "homeassistant/binary_sensor/gw-1/temperature_anomaly/config",
            "homeassistant/binary_sensor/gw-1/temperature_stuck/config",
            "homeassistant/binary_sensor/gw-1/temperature_dropout/config",
            "homeassistant/binary_sensor/gw-1/temperature_out_of_range/config",
            "homeassistant/sensor/gw-1/humidity/config",
            "homeassistant/binary_sensor/gw-1/humidity_anomaly/config",
            "homeassistant/binary_sensor/gw-1/humidity_rate_of_change/config",
            "homeassistant/binary_sensor/gw-1/env_anomaly/config",
        ])
        #expect(messages.allSatisfy { $0.retain && $0.qos == 1 })
    }

    @Test func sensorPayloadIsTheSummaryMeanWithUnitAndClasses() {
        let m = discovery.messages(channels: [temperature, humidity], multivariate: [])
        #expect(text(m[0]) == #"{"name":"temperature","unique_id":"vigil_gw-1_temperature","state_topic":"vigil/gw-1/summary/temperature","value_template":"{{ value_json.mean }}","unit_of_measurement":"°C","device_class":"temperature","state_class":"measurement","# + Self.common + "}")
        // Home Assistant accepts only % for humidity.
        #expect(text(m[5]) == #"{"name":"humidity","unique_id":"vigil_gw-1_humidity","state_topic":"vigil/gw-1/summary/humidity","value_template":"{{ value_json.mean }}","unit_of_measurement":"%","device_class":"humidity","state_class":"measurement","# + Self.common + "}")
    }

    @Test func binarySensorsFollowEpisodesAndTheirOwnCheck() {
        let m = discovery.messages(channels: [temperature], multivariate: [])
        #expect(text(m[1]) == #"{"name":"temperature anomaly","unique_id":"vigil_gw-1_temperature_anomaly","state_topic":"vigil/gw-1/anomaly/temperature","value_template":"{{ 'ON' if value_json.event == 'start' else 'OFF' }}","payload_on":"ON","payload_off":"OFF","device_class":"problem","# + Self.common + "}")
        #expect(text(m[4]) == #"{"name":"temperature out of range","unique_id":"vigil_gw-1_temperature_out_of_range","state_topic":"vigil/gw-1/health/temperature","value_template":"{% if value_json.check == 'out_of_range' %}{{ 'ON' if value_json.event == 'start' else 'OFF' }}{% endif %}","payload_on":"ON","payload_off":"OFF","device_class":"problem","entity_category":"diagnostic","# + Self.common + "}")
    }

    @Test func soundAndUnknownUnits() {
        let d = HomeAssistantDiscovery(device: "gw-1", topicPrefix: "vigil", settings: HomeAssistantConfig(), model: nil)
        let sound = HomeAssistantDiscovery.Channel(ChannelInfo(name: "sound", unit: "dB"), health: HealthSettings())
        let edges = HomeAssistantDiscovery.Channel(ChannelInfo(name: "knock", unit: "edges"), health: HealthSettings())
        let volts = HomeAssistantDiscovery.Channel(ChannelInfo(name: "p2p", unit: "V"), health: HealthSettings())
        let peak = HomeAssistantDiscovery.Channel(ChannelInfo(name: "peak", unit: "dBFS"), health: HealthSettings())
        let m = d.messages(channels: [sound, edges, volts, peak], multivariate: [])
        #expect(text(m[8]).contains(#""unit_of_measurement":"V","device_class":"voltage","state_class":"measurement""#))
        #expect(text(m[12]).contains(#""unit_of_measurement":"dBFS","state_class":"measurement""#))
        #expect(!text(m[12]).contains("device_class"))
        #expect(text(m[0]).contains(#""unit_of_measurement":"dB","device_class":"sound_pressure","state_class":"measurement""#))
        #expect(text(m[4]).contains(#""unit_of_measurement":"edges","state_class":"measurement""#))
        #expect(!text(m[4]).contains("device_class"))
        #expect(text(m[0]).contains(#""model":"Linux gateway""#))
    }

    @Test func prefixNameAndDotsInIds() {
        let d = HomeAssistantDiscovery(device: "plant.gw-1", topicPrefix: "site/vigil",
                                       settings: HomeAssistantConfig(discoveryPrefix: "ha", name: "Boiler room"), model: nil)
        let m = d.messages(channels: [HomeAssistantDiscovery.Channel(ChannelInfo(name: "t.1", unit: "°C"), health: HealthSettings(stuckAfter: nil, dropoutAfter: nil))], multivariate: [])
        #expect(m.map(\.topic) == ["ha/sensor/plant_gw-1/t_1/config", "ha/binary_sensor/plant_gw-1/t_1_anomaly/config"])
        #expect(text(m[0]).hasPrefix(#"{"name":"t.1","unique_id":"vigil_plant.gw-1_t.1","state_topic":"site/vigil/plant.gw-1/summary/t.1","#))
        #expect(text(m[0]).contains(#""availability":[{"topic":"site/vigil/plant.gw-1/status","#))
        #expect(text(m[0]).contains(#""device":{"identifiers":["vigil_plant.gw-1"],"name":"Boiler room","#))
    }

    @Test func removalIsAnEmptyRetainedMessage() {
        let r = HomeAssistantDiscovery.removal(ofTopic: "homeassistant/sensor/gw-1/temperature/config")
        #expect(r == OutboundMessage(topic: "homeassistant/sensor/gw-1/temperature/config", payload: [], qos: 1, retain: true))
    }
}
