//! Telling the format from the content: the first bytes, then the first non-blank line.
//!
//! | the input starts with | format |
//! |---|---|
//! | the binary format's magic bytes `\x89WGTRACE` (or a part of them, then its end: a binary trace cut short, which its reader says), told by [`binary`] before any line is read | binary |
//! | a JSON object whose first key is `trace` | JSON lines |
//! | a JSON object whose first key is another trace line's (`event`...) | JSON lines (whose reader says the header is missing) |
//! | `T<digits>\|` (blanks allowed around `T<digits>`) | STD |
//! | anything else | an error saying what it looks like |

use super::lines::{LineError, Lines};
use super::{Format, ReadError, MAX_LINE};
use std::io::{BufRead, Chain, Cursor, Read};
use std::path::Path;
use waitgraph_core::binary::MAGIC;

/// What every refusal says was expected.
const EXPECTED: &str = "expected a trace: waitgraph's binary format or JSON lines (a first line {\"trace\":{..}}), or STD lines such as `T0|acq(l)|12`";

/// How much of a JSON file is looked at to say what it is, when it is not a trace.
const JSON_WINDOW: usize = 64 << 10;

/// What the start of a file looks like.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// A trace format.
    Trace(Format),
    /// A JSON object: its first key, where it is on the line (1-based), if it is there.
    Object(Option<(String, u64)>),
    /// JSON but not an object.
    OtherJson(&'static str),
    Binary,
    Text,
}

/// `input` with nothing consumed: what [`binary`] had to take out of it to see the first
/// bytes (only when the input gave fewer than the magic's at a time) goes first again.
pub(crate) type Peeked<R> = Chain<Cursor<Vec<u8>>, R>;

/// Whether `input` starts with the binary format's magic bytes, looked at in the input's
/// buffer; the input is given back as it was. An input that ends inside the magic is
/// binary too (its reader says it was cut short); one that differs from it anywhere is
/// not.
pub(crate) fn binary<R: BufRead>(
    path: &Path,
    mut input: R,
) -> Result<(bool, Peeked<R>), ReadError> {
    let mut kept = Vec::new();
    let binary = loop {
        let buffer = match input.fill_buf() {
            Ok(buffer) => buffer,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(ReadError::at(
                    path,
                    1,
                    None,
                    format!("cannot read: {error}"),
                ))
            }
        };
        let want = &MAGIC[kept.len()..];
        let seen = &buffer[..buffer.len().min(want.len())];
        if seen != &want[..seen.len()] {
            break false;
        }
        if seen.len() == want.len() {
            break true;
        }
        if buffer.is_empty() {
            break !kept.is_empty();
        }
        // A short read that may still be the magic: keep it aside and read on.
        kept.extend_from_slice(buffer);
        let taken = buffer.len();
        input.consume(taken);
    };
    Ok((binary, Read::chain(Cursor::new(kept), input)))
}

/// Reads up to the first non-blank line, says which format it starts, and leaves that
/// line to be read again by the format's reader.
pub(crate) fn detect<R: BufRead>(path: &Path, lines: &mut Lines<R>) -> Result<Format, ReadError> {
    let (line, complete, overlong) = loop {
        match lines.next_line() {
            Ok(None) => return Err(ReadError::file(path, format!("empty: {EXPECTED}"))),
            Ok(Some(_)) if blank(lines.text()) => continue,
            Ok(Some(line)) => break (line.number, line.complete, false),
            Err(LineError::Overlong { number }) => break (number, false, true),
            Err(LineError::Io { number, error }) => {
                return Err(ReadError::at(
                    path,
                    number,
                    None,
                    format!("cannot read: {error}"),
                ))
            }
        }
    };
    let look = sniff(lines.text());
    if overlong && matches!(look, Look::Trace(_) | Look::Object(_)) {
        return Err(ReadError::at(
            path,
            line,
            None,
            format!("line longer than {MAX_LINE} bytes"),
        ));
    }
    match look {
        Look::Trace(format) => {
            lines.unread();
            Ok(format)
        }
        Look::Object(Some((key, column))) => {
            Err(not_a_trace_object(path, lines, line, &key, column))
        }
        // A file cut short in its first line: the JSON-lines reader says so.
        Look::Object(None) if !complete && !overlong => {
            lines.unread();
            Ok(Format::JsonLines)
        }
        Look::Object(None) => {
            // A pretty-printed object: its first key is on a later line. Nothing here
            // will be read as a trace, so what is read to say what it is can be consumed.
            let mut window = lines.text().to_vec();
            let mut first_key = None;
            while window.len() < JSON_WINDOW {
                match lines.next_line() {
                    Ok(Some(found)) => {
                        if first_key.is_none() {
                            if let Some((key, column)) = key_at_start(lines.text()) {
                                first_key = Some((key, found.number, column));
                            }
                        }
                        window.extend_from_slice(lines.text());
                        window.push(b'\n');
                    }
                    _ => break,
                }
            }
            Err(match first_key {
                Some((key, line, column)) if key == "trace" => ReadError::at(
                    path,
                    line,
                    Some(column),
                    "a pretty-printed JSON object, not a trace: a trace's lines are each one JSON object, the first {\"trace\":{..}}",
                ),
                Some((key, line, column)) => describe_object(path, &window, line, &key, column),
                None => ReadError::at(
                    path,
                    line,
                    None,
                    format!("a JSON object with no key in its first {JSON_WINDOW} bytes, not a trace; {EXPECTED}"),
                ),
            })
        }
        Look::OtherJson(what) => Err(ReadError::at(
            path,
            line,
            Some(1),
            format!("{what}, not a trace; {EXPECTED}"),
        )),
        Look::Binary => Err(ReadError::at(
            path,
            line,
            None,
            format!(
                "binary data (starting {}), not a trace; {EXPECTED}",
                hex(lines.raw())
            ),
        )),
        Look::Text => Err(ReadError::at(
            path,
            line,
            Some(1),
            format!(
                "text in no trace format known here: `{}`; {EXPECTED}",
                excerpt(lines.text())
            ),
        )),
    }
}

/// A one-line JSON object whose first key is not `trace`: looks at the next lines too,
/// to tell a report given by mistake.
fn not_a_trace_object<R: BufRead>(
    path: &Path,
    lines: &mut Lines<R>,
    line: u64,
    key: &str,
    column: u64,
) -> ReadError {
    let mut window = lines.text().to_vec();
    while window.len() < JSON_WINDOW {
        match lines.next_line() {
            Ok(Some(_)) => {
                window.extend_from_slice(lines.text());
                window.push(b'\n');
            }
            _ => break,
        }
    }
    describe_object(path, &window, line, key, column)
}

fn describe_object(path: &Path, window: &[u8], line: u64, key: &str, column: u64) -> ReadError {
    let has = |needle: &[u8]| window.windows(needle.len()).any(|w| w == needle);
    let message = if key == "schema" && has(b"\"findings\"") {
        "this is a waitgraph report (a JSON object with \"schema\" and \"findings\"), not a trace: a trace is what a recording writes (`demo-pool run --trace FILE`, waitgraph::record::TraceFile)".to_string()
    } else {
        format!(
            "a JSON object whose first key is `{}`, not a trace; {EXPECTED}",
            excerpt(key.as_bytes())
        )
    };
    ReadError::at(path, line, Some(column), message)
}

/// What `text` (a first non-blank line, or the start of one) looks like.
fn sniff(text: &[u8]) -> Look {
    // The binary format's magic bytes were looked for before (`binary`): what is left of
    // binary data here is refused below.
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let body = &text[start..];
    match body.first() {
        Some(b'{') => {
            return Look::Object(key_at_start(&body[1..]).map(|(key, column)| {
                // Columns from the start of the line.
                (key, column + start as u64 + 1)
            }))
            .promote();
        }
        Some(b'[') => return Look::OtherJson("a JSON array"),
        _ => {}
    }
    if let Some(rest) = body.strip_prefix(b"T") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let blanks = rest[digits..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if digits > 0 && rest.get(digits + blanks) == Some(&b'|') {
            return Look::Trace(Format::Std);
        }
    }
    if looks_binary(text) {
        Look::Binary
    } else {
        Look::Text
    }
}

impl Look {
    /// An object whose first key is `trace` is a JSON-lines trace; one whose first key
    /// is another line's (`event`...) is one without its header, which the JSON-lines
    /// reader says.
    fn promote(self) -> Look {
        match self {
            Look::Object(Some((key, _)))
                if ["trace", "thread", "resource", "event", "end"].contains(&key.as_str()) =>
            {
                Look::Trace(Format::JsonLines)
            }
            other => other,
        }
    }
}

/// The first key of an object whose `{` came before `text`: the key and its column in
/// `text` (1-based, the opening quote), if `text` starts (after blanks) with a string.
fn key_at_start(text: &[u8]) -> Option<(String, u64)> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = text[start..].strip_prefix(b"\"")?;
    let mut end = None;
    let mut escaped = false;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let key = &rest[..end?];
    Some((String::from_utf8_lossy(key).into_owned(), start as u64 + 1))
}

fn blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// NUL or other control bytes, or bytes that are not UTF-8, in the first 512.
fn looks_binary(text: &[u8]) -> bool {
    let window = &text[..text.len().min(512)];
    let control = window
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c));
    let utf8 = match std::str::from_utf8(window) {
        Ok(_) => true,
        // A character cut by the window's end is still text.
        Err(error) => error.error_len().is_none() && window.len() == 512,
    };
    control || !utf8
}

/// The first bytes, in hex.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The start of a line, for error messages.
pub(crate) fn excerpt(text: &[u8]) -> String {
    const SHOWN: usize = 60;
    let text = String::from_utf8_lossy(&text[..text.len().min(4 * SHOWN)]);
    let text = text.trim();
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_tells_the_format() {
        assert_eq!(
            sniff(br#"{"trace":{"schema":1}}"#),
            Look::Trace(Format::JsonLines)
        );
        assert_eq!(sniff(br#"  { "trace" : 1"#), Look::Trace(Format::JsonLines));
        assert_eq!(sniff(b"T12|acq(l)|3"), Look::Trace(Format::Std));
        assert_eq!(sniff(b" T1 | acq(l) | 3"), Look::Trace(Format::Std));
        assert_eq!(
            sniff(br#"{"schema":1,"findings":[]}"#),
            Look::Object(Some(("schema".into(), 2)))
        );
        assert_eq!(sniff(b"{"), Look::Object(None));
        assert_eq!(sniff(b"[1,2]"), Look::OtherJson("a JSON array"));
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), Look::Binary);
        assert_eq!(sniff(b"\xff\xfe"), Look::Binary);
        assert_eq!(sniff(b"Thread|acq(l)|3"), Look::Text);
        assert_eq!(sniff(b"T|acq(l)|3"), Look::Text);
    }
}
