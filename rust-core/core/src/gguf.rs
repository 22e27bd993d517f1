//! Reader for the header and key/value metadata of a GGUF file (tensor data is never read).
//!
//! Layout (little endian): magic `GGUF`, version (u32, 2 or 3), tensor count (u64),
//! metadata count (u64), then `key: string, type: u32, value` records.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{CoreError, Result};

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    UInt(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::UInt(v) => Some(v),
            Self::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::UInt(v) => i64::try_from(v).ok(),
            Self::Int(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(v) => Some(v),
            _ => None,
        }
    }
}

/// The metadata of a GGUF file.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub version: u32,
    pub tensor_count: u64,
    pub kv: HashMap<String, Value>,
}

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kv.get(key)
    }

    /// Reads the metadata section of the GGUF file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let io_err = |source| CoreError::Io {
            path: shown.clone(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let mut reader = Reader {
            inner: BufReader::with_capacity(1 << 20, file),
            remaining: len,
        };
        reader.metadata().map_err(|reason| CoreError::Gguf {
            path: shown.clone(),
            reason,
        })
    }
}

const MAGIC: &[u8; 4] = b"GGUF";
const MAX_DEPTH: u32 = 4;

struct Reader<R> {
    inner: R,
    /// Bytes left in the file: bounds every length read from it.
    remaining: u64,
}

type ReadResult<T> = std::result::Result<T, String>;

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> ReadResult<[u8; N]> {
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| format!("truncated file ({e})"))?;
        self.remaining = self.remaining.saturating_sub(N as u64);
        Ok(buf)
    }

    fn u32(&mut self) -> ReadResult<u32> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> ReadResult<u64> {
        self.bytes::<8>().map(u64::from_le_bytes)
    }

    /// A count of items each at least `min_item` bytes long, checked against the file size.
    fn count(&mut self, min_item: u64) -> ReadResult<usize> {
        let n = self.u64()?;
        if n.saturating_mul(min_item.max(1)) > self.remaining {
            return Err(format!(
                "length {n} exceeds the remaining {} bytes",
                self.remaining
            ));
        }
        usize::try_from(n).map_err(|_| format!("length {n} too large"))
    }

    fn string(&mut self) -> ReadResult<String> {
        let n = self.count(1)?;
        let mut buf = vec![0u8; n];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| format!("truncated string ({e})"))?;
        self.remaining -= n as u64;
        // Vocabularies may hold invalid UTF-8 pieces; keep them readable instead of failing.
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn value(&mut self, kind: u32, depth: u32) -> ReadResult<Value> {
        Ok(match kind {
            0 => Value::UInt(u64::from(self.bytes::<1>()?[0])),
            1 => Value::Int(i64::from(i8::from_le_bytes(self.bytes::<1>()?))),
            2 => Value::UInt(u64::from(u16::from_le_bytes(self.bytes::<2>()?))),
            3 => Value::Int(i64::from(i16::from_le_bytes(self.bytes::<2>()?))),
            4 => Value::UInt(u64::from(self.u32()?)),
            5 => Value::Int(i64::from(i32::from_le_bytes(self.bytes::<4>()?))),
            6 => Value::Float(f64::from(f32::from_le_bytes(self.bytes::<4>()?))),
            7 => Value::Bool(self.bytes::<1>()?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err("arrays nested too deeply".into());
                }
                let item_kind = self.u32()?;
                let n = self.count(1)?;
                let mut items = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    items.push(self.value(item_kind, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::UInt(self.u64()?),
            11 => Value::Int(i64::from_le_bytes(self.bytes::<8>()?)),
            12 => Value::Float(f64::from_le_bytes(self.bytes::<8>()?)),
            other => return Err(format!("unknown metadata value type {other}")),
        })
    }

    fn metadata(&mut self) -> ReadResult<Metadata> {
        if &self.bytes::<4>()? != MAGIC {
            return Err("not a GGUF file (bad magic)".into());
        }
        let version = self.u32()?;
        if !(2..=3).contains(&version) {
            return Err(format!("unsupported GGUF version {version}"));
        }
        let tensor_count = self.u64()?;
        let kv_count = self.count(12)?;
        let mut kv = HashMap::with_capacity(kv_count);
        for _ in 0..kv_count {
            let key = self.string()?;
            let kind = self.u32()?;
            let value = self
                .value(kind, 0)
                .map_err(|e| format!("metadata key {key:?}: {e}"))?;
            kv.insert(key, value);
        }
        Ok(Metadata {
            version,
            tensor_count,
            kv,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Serialises a small GGUF metadata section (used by tests across the crate).
    pub(crate) fn encode(kv: &[(&str, Value)]) -> Vec<u8> {
        fn put_str(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        fn put_value(out: &mut Vec<u8>, v: &Value) {
            match v {
                Value::UInt(x) => out.extend_from_slice(&x.to_le_bytes()),
                Value::Int(x) => out.extend_from_slice(&x.to_le_bytes()),
                Value::Float(x) => out.extend_from_slice(&x.to_le_bytes()),
                Value::Bool(b) => out.push(u8::from(*b)),
                Value::Str(s) => put_str(out, s),
                Value::Array(items) => {
                    let kind = items.first().map_or(8, kind_of);
                    out.extend_from_slice(&kind.to_le_bytes());
                    out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                    for item in items {
                        put_value(out, item);
                    }
                }
            }
        }
        fn kind_of(v: &Value) -> u32 {
            match v {
                Value::UInt(_) => 10,
                Value::Int(_) => 11,
                Value::Float(_) => 12,
                Value::Bool(_) => 7,
                Value::Str(_) => 8,
                Value::Array(_) => 9,
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&(kv.len() as u64).to_le_bytes());
        for (key, value) in kv {
            put_str(&mut out, key);
            out.extend_from_slice(&kind_of(value).to_le_bytes());
            put_value(&mut out, value);
        }
        out
    }

    fn parse(bytes: &[u8]) -> ReadResult<Metadata> {
        Reader {
            inner: bytes,
            remaining: bytes.len() as u64,
        }
        .metadata()
    }

    #[test]
    fn round_trips_values() {
        let kv = [
            ("general.architecture", Value::Str("llama".into())),
            ("tokenizer.ggml.bos_token_id", Value::UInt(1)),
            ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
            (
                "tokenizer.ggml.tokens",
                Value::Array(vec![Value::Str("a".into()), Value::Str("b".into())]),
            ),
        ];
        let meta = parse(&encode(&kv)).unwrap();
        assert_eq!(meta.version, 3);
        for (key, value) in kv {
            assert_eq!(meta.get(key), Some(&value));
        }
    }

    #[test]
    fn rejects_bad_magic_and_truncation() {
        assert!(parse(b"GGML\x03\0\0\0").unwrap_err().contains("magic"));
        let bytes = encode(&[("k", Value::Str("value".into()))]);
        assert!(parse(&bytes[..bytes.len() - 2]).is_err());
    }

    #[test]
    fn rejects_lengths_beyond_the_file() {
        let mut bytes = encode(&[("k", Value::Str("v".into()))]);
        // Corrupt the key length into something enormous.
        bytes[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse(&bytes).unwrap_err().contains("exceeds"));
    }
}
