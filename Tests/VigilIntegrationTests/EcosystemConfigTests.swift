import Testing
import VigilAgent
import VigilCore

/// `home_assistant:` and `metrics:`: off by default, their fields, and their errors at file:line.
@Suite struct EcosystemConfigTests {
    static func yaml(_ extra: String) -> String {
        """
        device: gw-1
        sources:
          - kind: simulator
        \(extra)
        """
    }

    @Test func offByDefault() throws {
        let c = try ConfigLoader.parse(Self.yaml(""), file: "t.yaml")
        #expect(c.homeAssistant == nil)
        #expect(c.metrics == MetricsConfig())
        #expect(c.metrics.textfile == nil && c.metrics.interval == .seconds(15))
    }

    @Test func anEmptySectionTurnsDiscoveryOnWithTheDefaults() throws {
        let c = try ConfigLoader.parse(Self.yaml("home_assistant: {}"), file: "t.yaml")
        #expect(c.homeAssistant == HomeAssistantConfig(discoveryPrefix: "homeassistant", name: nil))
        let d = try ConfigLoader.parse(Self.yaml("home_assistant: { discovery_prefix: ha/site-1, name: Greenhouse }\nmetrics: { textfile: /var/lib/ne/vigil.prom, interval: 30s }"), file: "t.yaml")
        #expect(d.homeAssistant == HomeAssistantConfig(discoveryPrefix: "ha/site-1", name: "Greenhouse"))
        #expect(d.metrics == MetricsConfig(textfile: "/var/lib/ne/vigil.prom", interval: .seconds(30)))
    }

    @Test func errorsNameTheLineAndField() {
        #expect(configProblems(Self.yaml("home_assistant: { discovery_prefix: 'ha/#' }")) ==
                ["t.yaml:4:19: home_assistant.discovery_prefix: must be non-empty, without '+', '#' or a leading/trailing '/', got 'ha/#'"])
        #expect(configProblems(Self.yaml("home_assistant: { prefix: ha }")) ==
                ["t.yaml:4:19: home_assistant.prefix: unknown field 'prefix' (known: discovery_prefix, name)"])
        #expect(configProblems(Self.yaml("metrics: { textfile: vigil.prom }")) ==
                ["t.yaml:4:12: metrics.textfile: must be an absolute path of a file ending in .prom (node_exporter reads only those), got 'vigil.prom'"])
        #expect(configProblems(Self.yaml("metrics: { textfile: /tmp/vigil.txt, interval: 500ms }")) == [
            "t.yaml:4:12: metrics.textfile: must be an absolute path of a file ending in .prom (node_exporter reads only those), got '/tmp/vigil.txt'",
            "t.yaml:4:38: metrics.interval: must be at least 1s, got 500ms",
        ])
    }
}
