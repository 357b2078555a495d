import Testing
import VigilCore

@Suite struct PrometheusTextTests {
    @Test func everyFamilyWithHelpTypeAndExactSamples() {
        let m = AgentMetrics(device: "gw-1", readings: 1234, sources: [.init(source: "sim", readings: 1000), .init(source: "noise", readings: 234)],
                             messages: 56, outboxMessages: 3, outboxBytes: 789, droppedSummaries: 2, droppedEvents: 0,
                             mqttConnected: true, mqttConnects: 4, mqttConnectFailures: 5, mqttAcked: 50)
        #expect(PrometheusText.render(m) == """
            # HELP vigil_info The agent's device id and version (always 1).
            # TYPE vigil_info gauge
            vigil_info{device="gw-1",version="\(VigilVersion.current)"} 1
            # HELP vigil_readings_total Readings taken since the agent started.
            # TYPE vigil_readings_total counter
            vigil_readings_total 1234
            # HELP vigil_source_readings_total Readings per source since the source started.
            # TYPE vigil_source_readings_total counter
            vigil_source_readings_total{source="sim"} 1000
            vigil_source_readings_total{source="noise"} 234
            # HELP vigil_messages_total Numbered messages (events, summaries, health) written to the outbox.
            # TYPE vigil_messages_total counter
            vigil_messages_total 56
            # HELP vigil_outbox_messages Messages in the outbox, waiting or in flight.
            # TYPE vigil_outbox_messages gauge
            vigil_outbox_messages 3
            # HELP vigil_outbox_bytes Payload bytes in the outbox.
            # TYPE vigil_outbox_bytes gauge
            vigil_outbox_bytes 789
            # HELP vigil_outbox_dropped_total Messages the outbox dropped to stay within its bounds.
            # TYPE vigil_outbox_dropped_total counter
            vigil_outbox_dropped_total{priority="summary"} 2
            vigil_outbox_dropped_total{priority="event"} 0
            # HELP vigil_mqtt_connected 1 while connected to the broker.
            # TYPE vigil_mqtt_connected gauge
            vigil_mqtt_connected 1
            # HELP vigil_mqtt_connects_total Connections the broker accepted.
            # TYPE vigil_mqtt_connects_total counter
            vigil_mqtt_connects_total 4
            # HELP vigil_mqtt_connect_failures_total Connection attempts that failed.
            # TYPE vigil_mqtt_connect_failures_total counter
            vigil_mqtt_connect_failures_total 5
            # HELP vigil_mqtt_acked_total Messages the broker acknowledged.
            # TYPE vigil_mqtt_acked_total counter
            vigil_mqtt_acked_total 50

            """)
    }

    @Test func labelValuesAreEscaped() {
        let m = AgentMetrics(device: "a\"b\\c\nd", readings: 0, sources: [], messages: 0, outboxMessages: 0, outboxBytes: 0,
                             droppedSummaries: 0, droppedEvents: 0, mqttConnected: false, mqttConnects: 0, mqttConnectFailures: 0, mqttAcked: 0)
        #expect(PrometheusText.render(m).contains(#"vigil_info{device="a\"b\\c\nd","#))
        #expect(PrometheusText.render(m).contains("vigil_mqtt_connected 0\n"))
    }
}
