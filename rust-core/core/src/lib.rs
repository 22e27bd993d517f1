//! AI Clone core: tokenizer built from a model's own vocabulary (GGUF or `tokenizer.json`),
//! exact prompt fitting, token-bounded chunking, a streaming detokenizer with stop strings, a
//! BM25 lexical index with Russian and English stemming and the request scheduler behind batching.
//!
//! Pure Rust; the Python bindings live in the `clone-core-py` crate.

mod byte_level;
pub mod chunk;
mod count_cache;
pub mod error;
pub mod fit;
pub mod gguf;
pub mod lexical;
mod pre_split;
mod pretokenize;
pub mod scheduler;
pub mod stream;
pub mod tokenizer;
pub mod vocab;
mod word_bpe;

pub use chunk::Chunk;
pub use error::{CoreError, Result};
pub use fit::{ChatTemplate, Fit, FitRequest};
pub use lexical::{Analyzer, LexicalIndex};
pub use scheduler::{Scheduler, SchedulerStats, StepPlan};
pub use stream::StreamDecoder;
pub use tokenizer::{Fragment, Tokenizer};
