//! The one GGUF header reader: metadata and tensor descriptions, bounded against hostile files
//! (tensor data is never read).
//!
//! Layout (little endian): magic `GGUF`, version (u32), tensor count (u64), metadata count (u64),
//! `key: string, type: u32, value` records, then per tensor `name: string, n_dims: u32,
//! dims: [u64; n_dims], type: u32, offset: u64`; the data section starts at the next multiple of
//! `general.alignment` (32).
//!
//! Any file in `models/base/` is read here (the agent lists them all), so a hostile one must cost no
//! more than a real one: arrays nest at most [`MAX_ARRAY_DEPTH`] deep, every count and length must fit
//! in the bytes left (and below a cap no real model comes near), only the first
//! [`MAX_HEADER_BYTES`] are ever looked at, and a file cut short after its header is refused. With
//! [`Arrays::Summarized`] long arrays are skipped through the read buffer and kept as their length,
//! so a 4 Mi-item table costs no memory; the tokenizer asks for [`Arrays::Kept`] (its vocabulary).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::{CoreError, Result};

/// llama.cpp reads no nested arrays at all.
pub const MAX_ARRAY_DEPTH: u32 = 3;
/// Vocabularies and merges: a few 100,000 items in today's models.
pub const MAX_ARRAY_ITEMS: u64 = 1 << 22;
/// With [`Arrays::Summarized`], longer arrays of scalars (scores, token types) are kept as their length.
pub const MAX_ARRAY_KEPT: u64 = 1 << 12;
/// Real models: a few dozen.
pub const MAX_FIELDS: u64 = 1 << 16;
/// Real models: a few thousand.
pub const MAX_TENSORS: u64 = 1 << 20;
/// `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// A 262k-token vocabulary with its merges is ~15 MiB.
pub const MAX_HEADER_BYTES: u64 = 1 << 28;
/// `general.alignment` when the file does not say.
const DEFAULT_ALIGNMENT: u64 = 32;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    UInt(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
    /// An array read as its length only ([`Arrays::Summarized`]): its items were skipped.
    Len(u64),
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

/// Which arrays are read into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrays {
    /// Every array with its items (the tokenizer needs the vocabulary and the merges).
    Kept,
    /// Arrays of strings, nested arrays and arrays of more than [`MAX_ARRAY_KEPT`] scalars become
    /// [`Value::Len`]: skipped, never built (the model list and the GPU plan need sizes only).
    Summarized,
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

    /// Reads the metadata section of the GGUF file at `path` with every array's items (the
    /// tokenizer's entry point; the tensor descriptions after it are not read).
    pub fn read(path: &Path) -> Result<Self> {
        let (version, tensor_count, fields) = open(path, |reader| {
            reader.metadata(Arrays::Kept).map(|(v, n, f, _)| (v, n, f))
        })?;
        Ok(Self {
            version,
            tensor_count,
            kv: fields.into_iter().collect(),
        })
    }
}

/// One tensor the header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    pub name: String,
    /// GGML order: `shape[0]` is the row length.
    pub shape: Vec<u64>,
    /// `ggml_type`.
    pub kind: u32,
    /// From the start of the data section.
    pub offset: u64,
    /// Its bytes in the file (blocks of its type).
    pub n_bytes: u64,
}

/// A GGUF file's header: its metadata in file order and its tensors.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u32,
    pub fields: Vec<(String, Value)>,
    pub tensors: Vec<Tensor>,
}

impl Header {
    /// Reads the header of the GGUF file at `path` within the bounds above, and checks that the
    /// tensors it declares end within the file. `CoreError::Gguf` says why a file is refused.
    pub fn read(path: &Path, arrays: Arrays) -> Result<Self> {
        open(path, |reader| reader.header(arrays))
    }

    /// The value of `key` (the last one, should a hostile file repeat it).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

fn open<T>(
    path: &Path,
    read: impl FnOnce(&mut Reader<BufReader<File>>) -> ReadResult<T>,
) -> Result<T> {
    let shown = path.display().to_string();
    let io_err = |source| CoreError::Io {
        path: shown.clone(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file), len);
    read(&mut reader).map_err(|reason| CoreError::Gguf {
        path: shown.clone(),
        reason,
    })
}

const MAGIC: &[u8; 4] = b"GGUF";
const STRING: u32 = 8;
const ARRAY: u32 = 9;

/// Bytes of one scalar of GGUF value type `kind` (`None` for strings, arrays and unknown types).
fn scalar_size(kind: u32) -> Option<u64> {
    match kind {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// `(elements per block, bytes per block)` of a `ggml_type` (gguf-py's `GGML_QUANT_SIZES`).
fn ggml_block(kind: u32) -> Option<(u64, u64)> {
    Some(match kind {
        0 | 26 => (1, 4),
        1 | 25 | 30 => (1, 2),
        2 | 20 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 40),
        10 => (256, 84),
        11 | 21 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 | 35 => (256, 66),
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1),
        27 | 28 => (1, 8),
        29 => (256, 56),
        34 => (256, 54),
        39 => (32, 17),
        40 => (64, 36),
        41 => (128, 18),
        _ => return None,
    })
}

/// `1234567` as `1,234,567` (the reasons quote counts the way an owner reads them).
fn grouped(n: impl Into<u128>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn quoted(key: &str) -> String {
    format!("'{}'", key.escape_debug())
}

struct Reader<R> {
    inner: R,
    /// Bytes read so far.
    pos: u64,
    /// Where reading stops: the end of the file or [`MAX_HEADER_BYTES`], whichever comes first.
    end: u64,
    file_len: u64,
}

type ReadResult<T> = std::result::Result<T, String>;
type Fields = Vec<(String, Value)>;

impl<R: BufRead> Reader<R> {
    fn new(inner: R, file_len: u64) -> Self {
        Self {
            inner,
            pos: 0,
            end: file_len.min(MAX_HEADER_BYTES),
            file_len,
        }
    }

    /// Refuses to read `n` more bytes when they run past the end (of the file or of the cap).
    fn need(&self, n: u64, what: impl FnOnce() -> String) -> ReadResult<()> {
        if n > self.end - self.pos {
            let beyond = if self.end == self.file_len {
                "the end of the file".to_owned()
            } else {
                format!(
                    "the first {} MiB, where every GGUF header ends",
                    self.end >> 20
                )
            };
            return Err(format!(
                "truncated or unknown GGUF header ({} at byte {} runs past {beyond})",
                what(),
                self.pos
            ));
        }
        Ok(())
    }

    fn bytes<const N: usize>(&mut self, what: impl FnOnce() -> String) -> ReadResult<[u8; N]> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf).map_err(|e| changed(&e))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: impl FnOnce() -> String) -> ReadResult<u32> {
        self.bytes::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: impl FnOnce() -> String) -> ReadResult<u64> {
        self.bytes::<8>(what).map(u64::from_le_bytes)
    }

    /// Moves `n` bytes on through the read buffer: nothing of them is kept.
    fn skip(&mut self, n: u64) -> ReadResult<()> {
        let mut left = n;
        while left > 0 {
            let available = self.inner.fill_buf().map_err(|e| changed(&e))?.len();
            if available == 0 {
                return Err(changed(&std::io::ErrorKind::UnexpectedEof.into()));
            }
            let step = usize::try_from(left).map_or(available, |l| l.min(available));
            self.inner.consume(step);
            left -= step as u64;
        }
        self.pos += n;
        Ok(())
    }

    /// A count of at most `limit` items, each at least `item_bytes` long, that fit in the bytes left.
    fn count(&mut self, limit: u64, item_bytes: u64, what: &dyn Fn() -> String) -> ReadResult<u64> {
        let n = self.u64(|| format!("the count of {}", what()))?;
        if n > limit {
            return Err(format!(
                "the GGUF header declares {} {}; no model has more than {}",
                grouped(n),
                what(),
                grouped(limit)
            ));
        }
        self.need(n * item_bytes, || format!("{} {}", grouped(n), what()))?;
        Ok(n)
    }

    fn string_len(&mut self) -> ReadResult<u64> {
        let n = self.u64(|| "the length of a string".into())?;
        self.need(n, || format!("a string of {} bytes", grouped(n)))?;
        Ok(n)
    }

    fn string(&mut self) -> ReadResult<String> {
        let n = self.string_len()?;
        let mut buf = vec![0u8; usize::try_from(n).map_err(|_| format!("a string of {n} bytes"))?];
        self.inner.read_exact(&mut buf).map_err(|e| changed(&e))?;
        self.pos += n;
        // Vocabularies may hold invalid UTF-8 pieces; keep them readable instead of failing.
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn value_kind(&mut self, what: impl FnOnce() -> String) -> ReadResult<u32> {
        let kind = self.u32(what)?;
        if kind == STRING || kind == ARRAY || scalar_size(kind).is_some() {
            Ok(kind)
        } else {
            Err(format!("unknown GGUF value type {kind}"))
        }
    }

    fn value(&mut self, kind: u32, key: &str, depth: u32, arrays: Arrays) -> ReadResult<Value> {
        let what = || format!("the value of {}", quoted(key));
        Ok(match kind {
            0 => Value::UInt(u64::from(self.bytes::<1>(what)?[0])),
            1 => Value::Int(i64::from(i8::from_le_bytes(self.bytes::<1>(what)?))),
            2 => Value::UInt(u64::from(u16::from_le_bytes(self.bytes::<2>(what)?))),
            3 => Value::Int(i64::from(i16::from_le_bytes(self.bytes::<2>(what)?))),
            4 => Value::UInt(u64::from(self.u32(what)?)),
            5 => Value::Int(i64::from(i32::from_le_bytes(self.bytes::<4>(what)?))),
            6 => Value::Float(f64::from(f32::from_le_bytes(self.bytes::<4>(what)?))),
            7 => Value::Bool(self.bytes::<1>(what)?[0] != 0),
            STRING => Value::Str(self.string()?),
            ARRAY => self.array(key, depth, arrays)?,
            10 => Value::UInt(self.u64(what)?),
            11 => Value::Int(i64::from_le_bytes(self.bytes::<8>(what)?)),
            12 => Value::Float(f64::from_le_bytes(self.bytes::<8>(what)?)),
            other => return Err(format!("unknown GGUF value type {other}")),
        })
    }

    fn array(&mut self, key: &str, depth: u32, arrays: Arrays) -> ReadResult<Value> {
        if depth == MAX_ARRAY_DEPTH {
            return Err(format!(
                "GGUF metadata key {} nests arrays more than {MAX_ARRAY_DEPTH} deep",
                quoted(key)
            ));
        }
        let item = self.value_kind(|| format!("the item type of {}", quoted(key)))?;
        let smallest = match item {
            STRING => 8, // its length
            ARRAY => 12, // its item type and count
            _ => scalar_size(item).unwrap_or(1),
        };
        let what = || format!("items in the array {}", quoted(key));
        let n = self.count(MAX_ARRAY_ITEMS, smallest, &what)?;
        let summarize = arrays == Arrays::Summarized;
        if summarize && item != STRING && item != ARRAY && n > MAX_ARRAY_KEPT {
            self.skip(n * smallest)?; // a per-token table: its length is all that is needed
            return Ok(Value::Len(n));
        }
        if summarize && item == STRING {
            for _ in 0..n {
                let length = self.string_len()?;
                self.skip(length)?;
            }
            return Ok(Value::Len(n));
        }
        let mut items = Vec::with_capacity(if summarize && item == ARRAY {
            0
        } else {
            n.min(1 << 16) as usize
        });
        for _ in 0..n {
            let value = self.value(item, key, depth + 1, arrays)?;
            if !(summarize && item == ARRAY) {
                items.push(value);
            }
        }
        Ok(if summarize && item == ARRAY {
            Value::Len(n)
        } else {
            Value::Array(items)
        })
    }

    /// Version, tensor count, the metadata in file order, and `general.alignment`'s reading.
    fn metadata(&mut self, arrays: Arrays) -> ReadResult<(u32, u64, Fields, u64)> {
        let magic = self.bytes::<4>(|| "the magic number".into())?;
        let version = self.u32(|| "the magic number".into())?;
        if &magic != MAGIC || version < 2 {
            return Err("not a GGUF v2+ file".into());
        }
        if version > 3 {
            return Err(format!(
                "GGUF version {version}; llama.cpp reads versions 2 and 3"
            ));
        }
        let n_tensors = self.u64(|| "the tensor count".into())?;
        let n_fields = self.count(MAX_FIELDS, 12, &|| "metadata keys".into())?;
        if n_tensors > MAX_TENSORS {
            return Err(format!(
                "the GGUF header declares {} tensors; no model has more than {}",
                grouped(n_tensors),
                grouped(MAX_TENSORS)
            ));
        }
        let mut fields = Vec::with_capacity(n_fields as usize);
        let mut alignment = Value::UInt(DEFAULT_ALIGNMENT);
        for _ in 0..n_fields {
            let key = self.string()?;
            let kind = self.value_kind(|| format!("the type of {}", quoted(&key)))?;
            let value = self.value(kind, &key, 0, arrays)?;
            if key == "general.alignment" {
                alignment = value.clone();
            }
            fields.push((key, value));
        }
        let alignment = match alignment.as_u64() {
            Some(a) if a > 0 => a,
            _ => {
                return Err(format!(
                    "general.alignment is {alignment:?}, not a positive integer"
                ))
            }
        };
        Ok((version, n_tensors, fields, alignment))
    }

    fn tensor(&mut self) -> ReadResult<Tensor> {
        let name = self.string()?;
        let n_dims = self.u32(|| format!("the rank of tensor {}", quoted(&name)))?;
        if n_dims > MAX_DIMS {
            return Err(format!(
                "tensor {} has {n_dims} dimensions; GGML allows {MAX_DIMS}",
                quoted(&name)
            ));
        }
        self.need(u64::from(n_dims) * 8, || {
            format!("the shape of tensor {}", quoted(&name))
        })?;
        let mut shape = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            shape.push(self.u64(String::new)?);
        }
        let kind = self.u32(|| format!("the type of tensor {}", quoted(&name)))?;
        let offset = self.u64(|| format!("the data offset of tensor {}", quoted(&name)))?;
        let (block, block_bytes) = ggml_block(kind).ok_or_else(|| {
            format!(
                "truncated or unknown GGUF header (tensor {} has the type {kind}, which GGML does not know)",
                quoted(&name)
            )
        })?;
        let n_bytes = shape
            .iter()
            .try_fold(1u128, |n, &d| n.checked_mul(u128::from(d)))
            .map(|n| n / u128::from(block) * u128::from(block_bytes))
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                format!(
                    "tensor {} declares a shape {shape:?} no file can hold",
                    quoted(&name)
                )
            })?;
        Ok(Tensor {
            name,
            shape,
            kind,
            offset,
            n_bytes,
        })
    }

    fn header(&mut self, arrays: Arrays) -> ReadResult<Header> {
        let (version, n_tensors, fields, alignment) = self.metadata(arrays)?;
        self.need(n_tensors * 24, || {
            format!("{} tensor descriptions", grouped(n_tensors))
        })?;
        let mut tensors = Vec::with_capacity(n_tensors as usize);
        let mut data_end = 0u128; // where the last tensor's bytes end, counted from the data section
        for _ in 0..n_tensors {
            let tensor = self.tensor()?;
            data_end = data_end.max(u128::from(tensor.offset) + u128::from(tensor.n_bytes));
            tensors.push(tensor);
        }
        let needed = u128::from(self.pos.div_ceil(alignment) * alignment) + data_end;
        if !tensors.is_empty() && needed > u128::from(self.file_len) {
            // cut short after its header: llama.cpp would refuse it at load time
            return Err(format!(
                "truncated GGUF file: its tensors end at byte {}, the file has {}",
                grouped(needed),
                grouped(self.file_len)
            ));
        }
        Ok(Header {
            version,
            fields,
            tensors,
        })
    }
}

/// The file changed under the reader (every length was checked against its size first).
fn changed(err: &std::io::Error) -> String {
    format!("the file could not be read to the end of its header ({err})")
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
                Value::Len(_) => unreachable!("a summary is read, never written"),
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
                Value::Array(_) | Value::Len(_) => 9,
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
        let (version, tensor_count, fields, _) =
            Reader::new(bytes, bytes.len() as u64).metadata(Arrays::Kept)?;
        Ok(Metadata {
            version,
            tensor_count,
            kv: fields.into_iter().collect(),
        })
    }

    fn scan(bytes: &[u8]) -> ReadResult<Header> {
        Reader::new(bytes, bytes.len() as u64).header(Arrays::Summarized)
    }

    /// A header with one key of GGUF type `kind` whose encoding is `value`, and no tensors.
    fn with_key(key: &str, kind: u32, value: &[u8]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        for n in [
            3u32.to_le_bytes().as_slice(),
            &0u64.to_le_bytes(),
            &1u64.to_le_bytes(),
        ] {
            out.extend_from_slice(n);
        }
        out.extend_from_slice(&(key.len() as u64).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    fn array_of(item: u32, n: u64) -> Vec<u8> {
        [item.to_le_bytes().as_slice(), &n.to_le_bytes()].concat()
    }

    /// `encode(kv)` with `tensors` (name, shape, ggml type, offset) and `data` bytes after them.
    fn with_tensors(
        kv: &[(&str, Value)],
        tensors: &[(&str, &[u64], u32, u64)],
        data: usize,
    ) -> Vec<u8> {
        let mut out = encode(kv);
        out[8..16].copy_from_slice(&(tensors.len() as u64).to_le_bytes());
        for (name, shape, kind, offset) in tensors {
            out.extend_from_slice(&(name.len() as u64).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(shape.len() as u32).to_le_bytes());
            for d in *shape {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out.resize(out.len().div_ceil(32) * 32 + data, 0);
        out
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
    fn rejects_bad_magic_old_versions_and_truncation() {
        assert_eq!(parse(b"GGML\x03\0\0\0").unwrap_err(), "not a GGUF v2+ file");
        assert_eq!(parse(b"GGUF\x01\0\0\0").unwrap_err(), "not a GGUF v2+ file");
        let bytes = encode(&[("k", Value::Str("value".into()))]);
        let cut = parse(&bytes[..bytes.len() - 2]).unwrap_err();
        assert!(
            cut.contains("a string of 5 bytes at byte 45 runs past the end of the file"),
            "{cut}"
        );
    }

    #[test]
    fn rejects_lengths_beyond_the_file() {
        let mut bytes = encode(&[("k", Value::Str("v".into()))]);
        // Corrupt the key length into something enormous.
        bytes[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = parse(&bytes).unwrap_err();
        assert!(
            err.starts_with(
                "truncated or unknown GGUF header (a string of 18,446,744,073,709,551,615 bytes"
            ),
            "{err}"
        );
    }

    #[test]
    fn nested_arrays_are_refused_below_the_depth_without_recursing_further() {
        let mut value = array_of(ARRAY, 1).repeat(10_000);
        value.extend(array_of(0, 0));
        let err = scan(&with_key("evil.nested", ARRAY, &value)).unwrap_err();
        assert_eq!(
            err,
            "GGUF metadata key 'evil.nested' nests arrays more than 3 deep"
        );
        let shallow = [array_of(ARRAY, 1), array_of(0, 2), vec![1, 2]].concat();
        let header = scan(&with_key("ok.nested", ARRAY, &shallow)).unwrap();
        assert_eq!(header.get("ok.nested"), Some(&Value::Len(1)));
        let kept = parse(&with_key("ok.nested", ARRAY, &shallow)).unwrap();
        let inner = Value::Array(vec![Value::UInt(1), Value::UInt(2)]);
        assert_eq!(kept.get("ok.nested"), Some(&Value::Array(vec![inner])));
    }

    #[test]
    fn counts_above_the_cap_or_beyond_the_file_are_refused_before_any_item() {
        for item in [0, STRING, ARRAY] {
            let bytes = with_key(
                "evil.huge",
                ARRAY,
                &[array_of(item, 1 << 40), vec![0; 64]].concat(),
            );
            assert_eq!(
                scan(&bytes).unwrap_err(),
                "the GGUF header declares 1,099,511,627,776 items in the array 'evil.huge'; \
                 no model has more than 4,194,304"
            );
        }
        for item in [6, STRING] {
            let bytes = with_key(
                "evil.huge",
                ARRAY,
                &[array_of(item, 1 << 20), vec![0; 64]].concat(),
            );
            let err = scan(&bytes).unwrap_err();
            assert!(err.contains("(1,048,576 items in the array 'evil.huge' at byte 57 runs past the end of the file)"), "{err}");
        }
        let mut many = encode(&[]);
        many[8..16].copy_from_slice(&(MAX_TENSORS + 1).to_le_bytes());
        assert_eq!(
            scan(&many).unwrap_err(),
            "the GGUF header declares 1,048,577 tensors; no model has more than 1,048,576"
        );
    }

    #[test]
    fn long_and_string_arrays_are_summarized_as_their_length_unless_kept() {
        let n = 1u64 << 22;
        let bytes = with_key(
            "tokenizer.ggml.token_type",
            ARRAY,
            &[array_of(0, n), vec![7; n as usize]].concat(),
        );
        let header = scan(&bytes).unwrap();
        assert_eq!(
            header.fields,
            vec![("tokenizer.ggml.token_type".into(), Value::Len(n))]
        );
        let kept = parse(&bytes).unwrap();
        assert_eq!(
            kept.get("tokenizer.ggml.token_type")
                .and_then(Value::as_array)
                .map(<[Value]>::len),
            Some(n as usize)
        );
        let short = Value::Array(vec![Value::Float(0.5); 3]);
        let words = Value::Array(vec![Value::Str("a".into()), Value::Str("bc".into())]);
        let header = scan(&encode(&[("short", short.clone()), ("words", words)])).unwrap();
        assert_eq!(header.get("short"), Some(&short));
        assert_eq!(header.get("words"), Some(&Value::Len(2)));
    }

    #[test]
    fn tensors_are_read_with_their_sizes_and_must_end_within_the_file() {
        // Q4_0 (type 2): 32 values in 18 bytes; F32 (type 0): 4 bytes a value.
        let tensors: [(&str, &[u64], u32, u64); 2] = [("a", &[64, 2], 2, 0), ("b", &[3], 0, 96)];
        let header = scan(&with_tensors(&[], &tensors, 108)).unwrap();
        let sizes: Vec<_> = header
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t.n_bytes, t.shape.clone()))
            .collect();
        assert_eq!(sizes, vec![("a", 72, vec![64, 2]), ("b", 12, vec![3])]);
        let cut = scan(&with_tensors(&[], &tensors, 107)).unwrap_err();
        assert!(
            cut.starts_with("truncated GGUF file: its tensors end at byte "),
            "{cut}"
        );
        let unknown = scan(&with_tensors(&[], &[("c", &[4], 99, 0)], 64)).unwrap_err();
        assert!(unknown.contains("tensor 'c' has the type 99"), "{unknown}");
        let wide = scan(&with_tensors(&[], &[("d", &[1; 5], 0, 0)], 64)).unwrap_err();
        assert_eq!(wide, "tensor 'd' has 5 dimensions; GGML allows 4");
        let absurd = scan(&with_tensors(&[], &[("e", &[u64::MAX; 4], 0, 0)], 64)).unwrap_err();
        assert!(absurd.contains("no file can hold"), "{absurd}");
        let aligned = [("general.alignment", Value::UInt(0))];
        assert!(scan(&with_tensors(&aligned, &tensors, 108))
            .unwrap_err()
            .contains("not a positive integer"));
    }
}
