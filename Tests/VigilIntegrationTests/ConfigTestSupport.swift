import VigilAgent

/// The problems the config loader finds in `yaml`, each as `vigil check` prints it (`t.yaml:5:5: …`).
func configProblems(_ yaml: String, file: String = "t.yaml") -> [String] {
    do {
        _ = try ConfigLoader.parse(yaml, file: file)
        return []
    } catch {
        return error.problems.map { "\(file):\($0)" }
    }
}
