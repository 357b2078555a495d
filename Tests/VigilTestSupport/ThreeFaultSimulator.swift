/// The simulator config the agent end-to-end tests share: two channels and three injected faults (two
/// temperature spikes and a humidity level shift) whose episodes are fully determined by the seed.
public enum ThreeFaultSimulator {
    /// The `detector:` line the expected episodes are computed with.
    public static let detector = "detector: { window: 40, warmup: 20, z_on: 6, z_off: 3, end_after: 3 }"

    /// The `sources:` block, at the top level of a config.
    public static let sources = """
        sources:
          - kind: simulator
            name: sim
            rate: 20
            seed: 11
            channels:
              - { name: temperature, unit: "°C", mean: 22, std: 0.3, resolution: 0.01 }
              - { name: humidity, unit: "%RH", mean: 45, std: 1, resolution: 0.1 }
            faults:
              - { kind: spike, channel: temperature, at: 2s, magnitude: 20 }
              - { kind: level_shift, channel: humidity, at: 3s, duration: 1s, magnitude: 15 }
              - { kind: spike, channel: temperature, at: 5s, magnitude: -20 }
        """
}
