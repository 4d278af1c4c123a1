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

/// The name of the event a server sends before it ends a stream for its shutdown.
pub const SHUTDOWN_EVENT: &str = "shutdown";

/// How long a stream the server ended for its shutdown is tried again: longer than a restart.
pub const RESUME_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// Splits the bytes of an event stream into messages' data (`data:` lines, joined by `\n`).
/// Named events (`event: NAME`) are not messages: they are kept apart (only whether a
/// [`SHUTDOWN_EVENT`] came); the last `id:` is kept, as an EventSource keeps it.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
    name: Option<String>,
    last_id: Option<String>,
    shut_down: bool,
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
                let data = self.data.take();
                match self.name.take() {
                    None => events.extend(data),
                    Some(name) => self.shut_down |= name == SHUTDOWN_EVENT,
                }
            } else if let Some(value) = line.strip_prefix("id:") {
                self.last_id = Some(value.trim().to_string());
            } else if let Some(value) = line.strip_prefix("event:") {
                let name = value.trim();
                self.name = (name != "message").then(|| name.to_string());
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

impl SseParser {
    /// The id of the last event that had one.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Whether the server said it ends the stream for its shutdown.
    pub fn shut_down(&self) -> bool {
        self.shut_down
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

    /// Whether the server ended the stream for its shutdown: open it again ([`reopen`]).
    pub fn ended_for_shutdown(&self) -> bool {
        self.parser.shut_down()
    }

    /// The id of the last event that had one (where a stream resumes).
    pub fn last_event_id(&self) -> Option<&str> {
        self.parser.last_id()
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

/// Opens `path` again after the server ended it for its shutdown: a second later, then every
/// second while no server answers, for up to [`RESUME_FOR`].
pub async fn reopen(client: &Client, path: &str) -> anyhow::Result<EventStream> {
    let deadline = tokio::time::Instant::now() + RESUME_FOR;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match EventStream::open(client, path).await {
            Ok(stream) => return Ok(stream),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(e.context("the server did not come back"));
            }
            Err(_) => {}
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
    fn named_events_are_not_messages_and_a_shutdown_is_noted_with_the_last_id() {
        let mut p = SseParser::default();
        let got = p
            .push(b"id: 7\ndata: a\n\nevent: shutdown\nretry: 1000\ndata: {}\n\n")
            .unwrap();
        assert_eq!(got, ["a"]);
        assert!(p.shut_down());
        assert_eq!(p.last_id(), Some("7"));
        let mut p = SseParser::default();
        assert_eq!(p.push(b"event: message\ndata: b\n\n").unwrap(), ["b"]);
        assert!(!p.shut_down());
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
