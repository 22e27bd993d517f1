//! Fitting a conversation into the context window, counting the chat template exactly.
//!
//! Rendered prompt: `bos + seg(system) + seg(kept messages...) + generation_prompt`, where
//! `seg(role, content) = prefix[role] + content + suffix[role]` and the system content is
//! `system + context_header + chunk_1 + chunk_separator + chunk_2 ...` when chunks are kept.
//! Priority: system (always), newest message, chunks by rank (a prefix of the ranking),
//! then older messages newest-first (a contiguous tail of the history; whole messages only).

use std::collections::HashMap;

use crate::error::{CoreError, Result};
use crate::tokenizer::{Fragment, Tokenizer};

/// Per-role text around each message, as rendered by the model's own chat template.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    pub prefixes: HashMap<String, String>,
    pub suffixes: HashMap<String, String>,
    pub generation_prompt: String,
    pub bos: String,
}

impl ChatTemplate {
    pub fn new(
        prefixes: HashMap<String, String>,
        suffixes: HashMap<String, String>,
        generation_prompt: String,
        bos: String,
    ) -> Result<Self> {
        if let Some(role) = suffixes.keys().find(|r| !prefixes.contains_key(*r)) {
            return Err(CoreError::invalid(format!(
                "role {role:?} has a suffix but no prefix"
            )));
        }
        Ok(Self {
            prefixes,
            suffixes,
            generation_prompt,
            bos,
        })
    }

    fn check_role(&self, role: &str) -> Result<()> {
        if self.prefixes.contains_key(role) {
            return Ok(());
        }
        let mut known: Vec<&str> = self.prefixes.keys().map(String::as_str).collect();
        known.sort_unstable();
        Err(CoreError::invalid(format!(
            "the chat template has no role {role:?} (roles: {})",
            known.join(", ")
        )))
    }

    /// `prefix + content + suffix` for one message.
    pub fn segment(&self, role: &str, content: &str) -> Result<String> {
        self.check_role(role)?;
        let prefix = &self.prefixes[role];
        let suffix = self.suffixes.get(role).map_or("", String::as_str);
        let mut out = String::with_capacity(prefix.len() + content.len() + suffix.len());
        out.push_str(prefix);
        out.push_str(content);
        out.push_str(suffix);
        Ok(out)
    }

    /// The whole prompt for `messages`.
    pub fn render<R: AsRef<str>, C: AsRef<str>>(
        &self,
        messages: &[(R, C)],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let mut out = self.bos.clone();
        for (role, content) in messages {
            out.push_str(&self.segment(role.as_ref(), content.as_ref())?);
        }
        if add_generation_prompt {
            out.push_str(&self.generation_prompt);
        }
        Ok(out)
    }
}

/// What to fit.
pub struct FitRequest<'a, S: AsRef<str>, R: AsRef<str>, C: AsRef<str>> {
    pub system: &'a str,
    /// Retrieved chunks, best first.
    pub chunks: &'a [S],
    /// (role, content), oldest first.
    pub messages: &'a [(R, C)],
    pub n_ctx: usize,
    /// Tokens kept free for the answer.
    pub reserve: usize,
    pub context_header: &'a str,
    pub chunk_separator: &'a str,
    /// Upper bound on the tokens the chunks may add (None: no bound beyond the budget).
    pub max_chunk_tokens: Option<usize>,
}

/// What fitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    /// Indices of kept messages, chronological.
    pub messages: Vec<usize>,
    /// Indices of kept chunks, by rank.
    pub chunks: Vec<usize>,
    /// Exact token count of `prompt` (with special-token parsing and the vocabulary's BOS/EOS).
    pub prompt_tokens: usize,
    pub prompt: String,
}

const SYSTEM_ROLE: &str = "system";

/// The system message content with the first `kept` chunks.
fn system_content<S: AsRef<str>>(system: &str, header: &str, sep: &str, chunks: &[S]) -> String {
    if chunks.is_empty() {
        return system.to_owned();
    }
    let mut out = String::from(system);
    out.push_str(header);
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(chunk.as_ref());
    }
    out
}

/// Checks the request; returns the token budget for the prompt.
fn validate<S: AsRef<str>, R: AsRef<str>, C: AsRef<str>>(
    template: &ChatTemplate,
    req: &FitRequest<'_, S, R, C>,
) -> Result<usize> {
    if req.n_ctx == 0 {
        return Err(CoreError::invalid("n_ctx must be > 0"));
    }
    if req.reserve >= req.n_ctx {
        return Err(CoreError::invalid(format!(
            "reserve ({}) must be smaller than n_ctx ({})",
            req.reserve, req.n_ctx
        )));
    }
    template.check_role(SYSTEM_ROLE)?;
    for (role, _) in req.messages {
        template.check_role(role.as_ref())?;
    }
    Ok(req.n_ctx - req.reserve)
}

impl Tokenizer {
    /// Exact token count of a rendered prompt, as llama.cpp tokenizes it (specials parsed,
    /// BOS/EOS per the vocabulary). Text between special tokens is counted through the memo,
    /// so re-fitting a history that grew by one message costs little.
    pub fn count_prompt(&self, prompt: &str) -> Result<usize> {
        let mut total = usize::from(self.add_bos()) + usize::from(self.add_eos());
        for fragment in self.partition(prompt, true) {
            total += match fragment {
                Fragment::Token(_) => 1,
                Fragment::Text(t) => self.count_cached(t, false)?,
            };
        }
        Ok(total)
    }

    /// Decides which messages and chunks fit; see the module documentation for the policy.
    pub fn fit<S: AsRef<str>, R: AsRef<str>, C: AsRef<str>>(
        &self,
        template: &ChatTemplate,
        req: &FitRequest<'_, S, R, C>,
    ) -> Result<Fit> {
        let budget = validate(template, req)?;

        // Fixed part: BOS, the system message without chunks, the generation prompt.
        let fixed = self.count_prompt(&template.render(&[(SYSTEM_ROLE, req.system)], true)?)?;
        if fixed > budget {
            return Err(CoreError::SystemPromptTooLong {
                needed: fixed,
                available: budget,
                n_ctx: req.n_ctx,
                reserve: req.reserve,
            });
        }
        let mut used = fixed;
        let msg_cost = |i: usize| -> Result<usize> {
            let (role, content) = &req.messages[i];
            self.count_prompt(&template.segment(role.as_ref(), content.as_ref())?)
                .map(|n| n - usize::from(self.add_bos()) - usize::from(self.add_eos()))
        };

        let n = req.messages.len();
        let mut first_kept = n;
        // The newest message first.
        if n > 0 {
            let cost = msg_cost(n - 1)?;
            if used + cost <= budget {
                used += cost;
                first_kept = n - 1;
            }
        }
        // Then chunks by rank, while they fit.
        let mut kept_chunks = 0;
        let mut chunk_tokens = 0;
        let chunk_limit = req.max_chunk_tokens.unwrap_or(usize::MAX);
        for (i, chunk) in req.chunks.iter().enumerate() {
            let joiner = if i == 0 {
                req.context_header
            } else {
                req.chunk_separator
            };
            let cost =
                self.count_cached(joiner, false)? + self.count_cached(chunk.as_ref(), false)?;
            if used + cost > budget || chunk_tokens + cost > chunk_limit {
                break;
            }
            used += cost;
            chunk_tokens += cost;
            kept_chunks += 1;
        }
        // Then older messages, newest first, while they fit.
        if first_kept + 1 == n {
            while first_kept > 0 {
                let cost = msg_cost(first_kept - 1)?;
                if used + cost > budget {
                    break;
                }
                used += cost;
                first_kept -= 1;
            }
        }

        // The per-part counts are exact where parts meet at special tokens; otherwise BPE may
        // merge across a boundary. Count the rendered prompt and drop parts until it fits.
        loop {
            let content = system_content(
                req.system,
                req.context_header,
                req.chunk_separator,
                &req.chunks[..kept_chunks],
            );
            let mut parts: Vec<(&str, &str)> = Vec::with_capacity(n - first_kept + 1);
            parts.push((SYSTEM_ROLE, &content));
            parts.extend(
                req.messages[first_kept..]
                    .iter()
                    .map(|(r, c)| (r.as_ref(), c.as_ref())),
            );
            let prompt = template.render(&parts, true)?;
            let prompt_tokens = self.count_prompt(&prompt)?;
            if prompt_tokens <= budget {
                return Ok(Fit {
                    messages: (first_kept..n).collect(),
                    chunks: (0..kept_chunks).collect(),
                    prompt_tokens,
                    prompt,
                });
            }
            if first_kept + 1 < n {
                first_kept += 1;
            } else if kept_chunks > 0 {
                kept_chunks -= 1;
            } else if first_kept < n {
                first_kept = n;
            } else {
                return Err(CoreError::SystemPromptTooLong {
                    needed: prompt_tokens,
                    available: budget,
                    n_ctx: req.n_ctx,
                    reserve: req.reserve,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::tests::tiny;

    fn chatml() -> ChatTemplate {
        let roles = ["system", "user", "assistant"];
        ChatTemplate::new(
            roles
                .iter()
                .map(|r| ((*r).into(), format!("<|im_start|>{r}\n")))
                .collect(),
            roles
                .iter()
                .map(|r| ((*r).into(), "<|im_end|>\n".into()))
                .collect(),
            "<|im_start|>assistant\n".into(),
            String::new(),
        )
        .unwrap()
    }

    fn request<'a>(
        messages: &'a [(&'a str, &'a str)],
        chunks: &'a [&'a str],
        n_ctx: usize,
    ) -> FitRequest<'a, &'a str, &'a str, &'a str> {
        FitRequest {
            system: "You are helpful.",
            chunks,
            messages,
            n_ctx,
            reserve: 10,
            context_header: "\n\nContext:\n",
            chunk_separator: "\n\n",
            max_chunk_tokens: None,
        }
    }

    #[test]
    fn keeps_everything_when_it_fits() {
        let tok = tiny();
        let msgs = [
            ("user", "hello"),
            ("assistant", "world"),
            ("user", "hello again"),
        ];
        let fit = tok
            .fit(&chatml(), &request(&msgs, &["fact one", "fact two"], 4096))
            .unwrap();
        assert_eq!(fit.messages, [0, 1, 2]);
        assert_eq!(fit.chunks, [0, 1]);
        assert_eq!(
            fit.prompt_tokens,
            tok.encode(&fit.prompt, true, true).unwrap().len()
        );
        assert!(fit.prompt.ends_with("<|im_start|>assistant\n"));
        assert!(fit
            .prompt
            .contains("Context:\nfact one\n\nfact two<|im_end|>"));
    }

    #[test]
    fn drops_oldest_messages_first_and_respects_the_budget() {
        let tok = tiny();
        let long = "word ".repeat(40);
        let msgs = [
            ("user", long.as_str()),
            ("assistant", long.as_str()),
            ("user", "hello"),
        ];
        let full = tok.fit(&chatml(), &request(&msgs, &[], 4096)).unwrap();
        for n_ctx in 40..full.prompt_tokens + 20 {
            let Ok(fit) = tok.fit(&chatml(), &request(&msgs, &[], n_ctx)) else {
                continue;
            };
            assert!(fit.prompt_tokens + 10 <= n_ctx);
            assert_eq!(
                fit.prompt_tokens,
                tok.encode(&fit.prompt, true, true).unwrap().len()
            );
            // A contiguous tail of the history.
            assert!(fit
                .messages
                .iter()
                .copied()
                .eq(fit.messages.first().map_or(3, |&f| f)..3));
        }
    }

    #[test]
    fn system_prompt_too_long_is_an_error() {
        let tok = tiny();
        let err = tok.fit(&chatml(), &request(&[], &[], 15)).unwrap_err();
        assert!(
            matches!(err, CoreError::SystemPromptTooLong { .. }),
            "{err}"
        );
        assert!(
            tok.fit(&chatml(), &request(&[], &[], 10)).is_err(),
            "reserve >= n_ctx"
        );
        let bad_role = [("robot", "hi")];
        let err = tok
            .fit(&chatml(), &request(&bad_role, &[], 4096))
            .unwrap_err();
        assert!(err.to_string().contains("robot"));
    }

    #[test]
    fn soft_boundaries_are_verified() {
        // A template without special tokens: BPE may merge across messages.
        let tok = tiny();
        let roles = ["system", "user", "assistant"];
        let plain = ChatTemplate::new(
            roles
                .iter()
                .map(|r| ((*r).into(), format!("{r}: ")))
                .collect(),
            roles.iter().map(|r| ((*r).into(), " ".into())).collect(),
            "assistant:".into(),
            String::new(),
        )
        .unwrap();
        let msgs = [
            ("user", "hello world"),
            ("assistant", "hello"),
            ("user", "world hello"),
        ];
        for n_ctx in 20..120 {
            if let Ok(fit) = tok.fit(&plain, &request(&msgs, &["ab", "cd"], n_ctx)) {
                assert_eq!(
                    fit.prompt_tokens,
                    tok.encode(&fit.prompt, true, true).unwrap().len()
                );
                assert!(fit.prompt_tokens + 10 <= n_ctx);
            }
        }
    }
}
