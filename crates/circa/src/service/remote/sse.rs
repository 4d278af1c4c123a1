//! Server-sent events as a stream of `data:` payloads: the pipeline watch and a task's live
//! events.

use anyhow::Context;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::service::client::Client;

/// The longest event accepted: a task's output event carries at most 64 KiB of text, and its
/// JSON escaping can at most sextuple that.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// An event or a line longer than [`MAX_EVENT_BYTES`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an event of the stream is longer than {MAX_EVENT_BYTES} bytes")]
pub struct EventTooLong;

/// Splits the bytes of an event stream into events' data (`data:` lines, joined by `\n`).
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    /// Takes the next bytes; the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, EventTooLong> {
        let mut events = Vec::new();
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            self.line.extend_from_slice(chunk);
            let pending = self.line.len() + self.data.as_ref().map_or(0, String::len);
            if pending > MAX_EVENT_BYTES {
                return Err(EventTooLong);
            }
            if self.line.last() != Some(&b'\n') {
                continue;
            }
            let line = String::from_utf8_lossy(&self.line).into_owned();
            self.line.clear();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                events.extend(self.data.take());
            } else if let Some(value) = line.strip_prefix("data:") {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_string()),
                }
            }
        }
        Ok(events)
    }
}

/// An open event stream.
pub struct EventStream {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    parser: SseParser,
    ready: std::collections::VecDeque<String>,
}

impl EventStream {
    /// Opens the SSE route `path`.
    pub async fn open(client: &Client, path: &str) -> anyhow::Result<EventStream> {
        let response = client.open(path).await?;
        Ok(EventStream {
            body: response
                .bytes_stream()
                .map(|chunk| chunk.map(|b| b.to_vec()))
                .boxed(),
            parser: SseParser::default(),
            ready: Default::default(),
        })
    }

    /// The next event's data; `None` once the server has ended the stream.
    pub async fn next(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            if let Some(data) = self.ready.pop_front() {
                return Ok(Some(data));
            }
            match self.body.next().await {
                Some(chunk) => {
                    let chunk = chunk.context("the event stream broke off")?;
                    self.ready.extend(self.parser.push(&chunk)?);
                }
                None => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_end_at_a_blank_line_and_may_span_chunks() {
        let mut p = SseParser::default();
        assert!(
            p.push(b": keep-alive\n\nid: 1\ndata: {\"a\"")
                .unwrap()
                .is_empty()
        );
        assert_eq!(p.push(b":1}\n\ndata: x\n").unwrap(), ["{\"a\":1}"]);
        assert_eq!(p.push(b"data: y\r\n\r\n").unwrap(), ["x\ny"]);
    }

    #[test]
    fn an_event_past_the_limit_is_refused() {
        let mut p = SseParser::default();
        let long = vec![b'x'; MAX_EVENT_BYTES];
        assert_eq!(p.push(b"data: "), Ok(Vec::new()));
        assert_eq!(p.push(&long), Err(EventTooLong));
        let mut p = SseParser::default();
        let fits = vec![b'x'; MAX_EVENT_BYTES - 10];
        let mut event = b"data: ".to_vec();
        event.extend_from_slice(&fits);
        event.extend_from_slice(b"\n\n");
        assert_eq!(p.push(&event).unwrap().len(), 1);
    }
}
