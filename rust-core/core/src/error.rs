//! The one error type of the core crate; the binding layer maps it to Python exceptions.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CoreError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid GGUF file {path}: {reason}")]
    Gguf { path: String, reason: String },
    #[error("unsupported tokenizer: {0}")]
    Unsupported(String),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    #[error("invalid token id {id} (vocabulary size {vocab_size})")]
    InvalidTokenId { id: i64, vocab_size: usize },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("the queue is full ({max_waiting} requests waiting)")]
    QueueFull { max_waiting: usize },
    #[error(
        "the system prompt alone needs {needed} tokens but only {available} are available \
         (n_ctx {n_ctx} - reserve {reserve})"
    )]
    SystemPromptTooLong {
        needed: usize,
        available: usize,
        n_ctx: usize,
        reserve: usize,
    },
}

pub type Result<T> = std::result::Result<T, CoreError>;

impl CoreError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidArgument(msg.into())
    }
}

impl From<tokenizers::Error> for CoreError {
    fn from(err: tokenizers::Error) -> Self {
        Self::Tokenizer(err.to_string())
    }
}
