//! Lines of a trace, one at a time, never longer than [`MAX_LINE`] in memory.

use super::MAX_LINE;
use std::io::{self, BufRead, Read};

/// One line read: its bytes are in [`Lines::text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// 1-based.
    pub number: u64,
    /// It ended with a newline (else it is the input's last, and may be cut short).
    pub complete: bool,
}

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// Longer than [`MAX_LINE`]: the rest of it was not read (its start is in
    /// [`Lines::text`]).
    Overlong {
        number: u64,
    },
    Io {
        number: u64,
        error: io::Error,
    },
}

/// The lines of an input, with their numbers; the last one read can be read again.
pub(crate) struct Lines<R> {
    input: R,
    buffer: Vec<u8>,
    current: Option<Line>,
    again: bool,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Lines<R> {
        Lines {
            input,
            buffer: Vec::new(),
            current: None,
            again: false,
            number: 0,
        }
    }

    /// The next line, `None` at the end of the input.
    pub fn next_line(&mut self) -> Result<Option<Line>, LineError> {
        if self.again {
            self.again = false;
            return Ok(self.current);
        }
        self.buffer.clear();
        self.current = None;
        let number = self.number + 1;
        let read = (&mut self.input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|error| LineError::Io { number, error })?;
        if read == 0 {
            return Ok(None);
        }
        self.number = number;
        let complete = self.buffer.last() == Some(&b'\n');
        if !complete && self.buffer.len() > MAX_LINE {
            // The start of it stays in `text` (detection looks at it).
            return Err(LineError::Overlong { number });
        }
        self.current = Some(Line { number, complete });
        Ok(self.current)
    }

    /// Makes the next [`next_line`](Lines::next_line) return the last line again.
    pub fn unread(&mut self) {
        if self.current.is_some() {
            self.again = true;
        }
    }

    /// The bytes of the last line read, its newline (and a `\r` before it) left out.
    pub fn text(&self) -> &[u8] {
        let text = self.buffer.strip_suffix(b"\n").unwrap_or(&self.buffer);
        text.strip_suffix(b"\r").unwrap_or(text)
    }

    /// The bytes of the last line read as they were, newline included.
    pub fn raw(&self) -> &[u8] {
        &self.buffer
    }

    /// Lines read so far (the last one included).
    pub fn count(&self) -> u64 {
        self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_the_last_may_be_incomplete() {
        let mut lines = Lines::new(&b"one\r\n\ntwo"[..]);
        let first = lines.next_line().unwrap().unwrap();
        assert_eq!((first.number, first.complete), (1, true));
        assert_eq!(lines.text(), b"one");
        lines.unread();
        assert_eq!(lines.next_line().unwrap(), Some(first));
        assert_eq!(lines.text(), b"one");
        assert_eq!(lines.next_line().unwrap().unwrap().number, 2);
        assert_eq!(lines.text(), b"");
        let last = lines.next_line().unwrap().unwrap();
        assert_eq!((last.number, last.complete), (3, false));
        assert_eq!(lines.text(), b"two");
        assert!(lines.next_line().unwrap().is_none());
        assert_eq!(lines.count(), 3);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read_and_one_more_byte_is_refused() {
        let mut text = vec![b'a'; MAX_LINE];
        text.push(b'\n');
        text.extend(vec![b'b'; MAX_LINE + 1]);
        let mut lines = Lines::new(&text[..]);
        assert!(lines.next_line().unwrap().unwrap().complete);
        assert_eq!(lines.text().len(), MAX_LINE);
        assert!(matches!(
            lines.next_line(),
            Err(LineError::Overlong { number: 2 })
        ));
    }
}
