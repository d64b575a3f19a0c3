//! Our canonical JSON encoder against securesystemslib's `encode_canonical`,
//! byte for byte, on hostile strings and keys and on random trees.

use tuf_ceremony_e2e::{python, workspace_root};
use tuf_metadata::canonical::encode;
use tuf_metadata::json::{self, MAX_SAFE_INTEGER, Object, Value};

/// Strings that break naive encoders: escapes, control bytes, keys that
/// prefix one another, non-NFC and astral Unicode, separators JSON allows raw.
fn hostile_strings() -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        "\"",
        "\\",
        "\\\"",
        "\"\\",
        "a",
        "a ",
        "a!",
        "a\"",
        "a\\",
        "a\u{0}",
        "ab",
        "a\u{7f}",
        "e\u{301}",
        "\u{e9}",
        "\u{212b}",
        "\u{c5}",
        "A\u{30a}",
        "\u{fb01}",
        "\u{1F600}",
        "\u{FFFD}",
        "\u{FEFF}",
        "\u{2028}",
        "\u{2029}",
        "\u{10FFFF}",
        "\u{D7FF}",
        "\u{E000}",
        "</script>",
        "\n\r\t\u{8}\u{c}",
        "/",
        "\\u0041",
        "keyid_hash_algorithms",
        "_type",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    out.extend((0u8..0x20).map(|b| format!("c{}", char::from(b))));
    out
}

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn string(&mut self) -> String {
        const POOL: &[char] = &[
            'a',
            'b',
            'A',
            ' ',
            '!',
            '"',
            '\\',
            '/',
            '\u{0}',
            '\u{1}',
            '\n',
            '\u{1f}',
            '\u{7f}',
            '\u{80}',
            '\u{e9}',
            '\u{301}',
            '\u{2028}',
            '\u{FFFD}',
            '\u{FEFF}',
            '\u{1F600}',
            '\u{10FFFF}',
            '\u{10000}',
            '\u{D7FF}',
            '\u{E000}',
        ];
        let len = self.below(8);
        (0..len)
            .map(|_| POOL[self.below(POOL.len() as u64) as usize])
            .collect()
    }
    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 3 { 4 } else { 6 }) {
            0 => Value::String(self.string()),
            1 => Value::Int(match self.below(4) {
                0 => MAX_SAFE_INTEGER,
                1 => -MAX_SAFE_INTEGER,
                _ => (self.next() % 2_000_001) as i64 - 1_000_000,
            }),
            2 => {
                [Value::Null, Value::Bool(true), Value::Bool(false)][self.below(3) as usize].clone()
            }
            3 => Value::String(String::new()),
            4 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut map = Object::new();
                for _ in 0..self.below(6) {
                    map.insert(self.string(), self.value(depth + 1));
                }
                Value::Object(map)
            }
        }
    }
}

fn corpus() -> Vec<Value> {
    let strings = hostile_strings();
    let mut values: Vec<Value> = strings.iter().map(|s| Value::String(s.clone())).collect();
    // Every hostile string as a key of one object: tests the key order.
    values.push(Value::Object(
        strings
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), Value::Int(i as i64)))
            .collect(),
    ));
    values.push(Value::Array(vec![
        Value::Int(0),
        Value::Int(-1),
        Value::Int(MAX_SAFE_INTEGER),
        Value::Int(-MAX_SAFE_INTEGER),
        Value::Null,
        Value::Bool(true),
        Value::Object(Object::new()),
        Value::Array(vec![]),
    ]));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    values.extend((0..1500).map(|_| rng.value(0)));
    values
}

#[test]
fn canonical_bytes_equal_securesystemslib_on_the_hostile_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("values.json");
    let output = dir.path().join("canonical.json");
    let values = corpus();
    std::fs::write(&input, json::to_pretty(&Value::Array(values.clone()))).unwrap();

    // Our strict parser must read back exactly what we wrote.
    let reread = json::parse(&std::fs::read(&input).unwrap(), 1 << 26).unwrap();
    assert_eq!(reread, Value::Array(values.clone()));

    let status = std::process::Command::new(python())
        .arg(workspace_root().join("tests/fixtures/canonical_peer.py"))
        .args([&input, &output])
        .status()
        .unwrap();
    assert!(status.success(), "canonical_peer.py failed");
    let theirs: Vec<String> = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    assert_eq!(theirs.len(), values.len());
    let mut mismatches = Vec::new();
    for (i, (value, expected)) in values.iter().zip(&theirs).enumerate() {
        let ours = hex::encode(encode(value));
        if &ours != expected {
            mismatches.push(format!(
                "#{i}: ours {ours}\n    securesystemslib {expected}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
