//! Reassembles lines and server-sent events from payload parts whose boundaries fall anywhere (mid-line,
//! mid-UTF-8 character), with a bounded buffer.

use std::collections::VecDeque;

/// Default bound on one line or one event: a part that would grow the pending text past it is an error.
pub const DEFAULT_MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug)]
pub struct TooLong {
    pub limit: usize,
}

/// Splits on b"\n" (dropping a preceding b"\r" unless `keepends`); the last line may lack a newline.
pub struct LineSplitter {
    pending: Vec<u8>,
    ready: VecDeque<Vec<u8>>,
    keepends: bool,
    max_line_bytes: usize,
}

impl LineSplitter {
    pub fn new(keepends: bool, max_line_bytes: usize) -> Self {
        Self { pending: Vec::new(), ready: VecDeque::new(), keepends, max_line_bytes }
    }

    pub fn push(&mut self, part: &[u8]) -> Result<(), TooLong> {
        let mut rest = part;
        while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = rest.split_at(newline + 1);
            self.pending.extend_from_slice(line);
            self.check()?;
            let mut complete = std::mem::take(&mut self.pending);
            if !self.keepends {
                complete.pop();
                if complete.last() == Some(&b'\r') {
                    complete.pop();
                }
            }
            self.ready.push_back(complete);
            rest = after;
        }
        self.pending.extend_from_slice(rest);
        self.check()
    }

    fn check(&self) -> Result<(), TooLong> {
        if self.pending.len() > self.max_line_bytes {
            Err(TooLong { limit: self.max_line_bytes })
        } else {
            Ok(())
        }
    }

    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// At the end of the stream: the last line, when it did not end with a newline.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.pending))
        }
    }
}

/// Server-sent events (the `data:` records LLM containers stream): yields each event's data, its `data` lines
/// joined with "\n"; comments and other fields are skipped. An event still open when the stream ends is yielded.
pub struct SseParser {
    lines: LineSplitter,
    data: Vec<u8>,
    has_data: bool,
    events: VecDeque<Vec<u8>>,
    max_event_bytes: usize,
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            lines: LineSplitter::new(false, max_event_bytes),
            data: Vec::new(),
            has_data: false,
            events: VecDeque::new(),
            max_event_bytes,
        }
    }

    pub fn push(&mut self, part: &[u8]) -> Result<(), TooLong> {
        self.lines.push(part)?;
        while let Some(line) = self.lines.pop() {
            self.line(&line)?;
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), TooLong> {
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        if line.starts_with(b":") {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if field == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
            if self.data.len() > self.max_event_bytes {
                return Err(TooLong { limit: self.max_event_bytes });
            }
        }
        Ok(())
    }

    fn dispatch(&mut self) {
        if self.has_data {
            self.events.push_back(std::mem::take(&mut self.data));
            self.has_data = false;
        }
    }

    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.events.pop_front()
    }

    pub fn finish(&mut self) -> Result<(), TooLong> {
        if let Some(last) = self.lines.finish() {
            self.line(&last)?;
        }
        self.dispatch();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(parts: &[&[u8]], keepends: bool) -> Vec<Vec<u8>> {
        let mut splitter = LineSplitter::new(keepends, 1024);
        let mut out = Vec::new();
        for part in parts {
            splitter.push(part).expect("within bounds");
            while let Some(line) = splitter.pop() {
                out.push(line);
            }
        }
        out.extend(splitter.finish());
        out
    }

    #[test]
    fn lines_across_parts() {
        let expected: Vec<Vec<u8>> = vec![b"ab".to_vec(), b"cd".to_vec(), b"e".to_vec()];
        assert_eq!(lines_of(&[b"a", b"b\r", b"\ncd\n", b"e"], false), expected);
        assert_eq!(lines_of(&[b"ab\r\ncd\ne"], true), vec![b"ab\r\n".to_vec(), b"cd\n".to_vec(), b"e".to_vec()]);
    }

    #[test]
    fn bounded() {
        let mut splitter = LineSplitter::new(false, 4);
        assert!(splitter.push(b"abcd").is_ok());
        assert!(splitter.push(b"e").is_err());
    }

    #[test]
    fn sse_events() {
        let mut parser = SseParser::new(1024);
        for part in [&b"data: {\"a\""[..], b": 1}\n\n: comment\nevent: x\ndata: l1\nda", b"ta: l2\n\ndata: last"] {
            parser.push(part).expect("within bounds");
        }
        parser.finish().expect("within bounds");
        let events: Vec<Vec<u8>> = std::iter::from_fn(|| parser.pop()).collect();
        assert_eq!(events, vec![b"{\"a\": 1}".to_vec(), b"l1\nl2".to_vec(), b"last".to_vec()]);
    }
}
