//! The access line in the default log (text, standard error not a terminal, no span export),
//! written straight to the log's writer thread: the same bytes [`super::line::TextLine`] and
//! [`super::fields::PlainFields`] write for the `tracing` event, without the event's
//! dispatch, the span lookup and a visitor call per field, which were most of what the access
//! log added to a reused answer (BENCHMARKS.md, step 49). Every other log, and every other
//! line, goes through `tracing`.

use std::{cell::RefCell, fmt::Write as _, io::Write as _, sync::OnceLock, time::SystemTime};

use tracing_appender::non_blocking::NonBlocking;
use tracing_subscriber::fmt::{MakeWriter, format::Writer};

use super::{fields::bare, line::write_time};

/// The log's target, which `GATEWAY_LOG_LEVEL` can name (`elements_gateway::access=warn`).
pub(crate) const TARGET: &str = "elements_gateway::access";

/// The log's writer, set when the process's log is the default text one.
static DIRECT: OnceLock<NonBlocking> = OnceLock::new();

/// Lets [`log`] write access lines to `writer` (set at most once, by [`super::init`]).
pub(super) fn write_directly_to(writer: NonBlocking) {
    let _ = DIRECT.set(writer);
}

/// One request's access line: the request span's fields, then the event's.
#[derive(Debug)]
pub(crate) struct AccessLine<'a> {
    /// Whether the `request` span is enabled (the log filter may leave it out).
    pub in_span: bool,
    /// The request id, sane (a span field; the event's too when the span is left out).
    pub id: &'a str,
    /// The method, an HTTP token (a span field, and the event's).
    pub method: &'a str,
    /// The path, without the query string (a span field, and the event's).
    pub path: &'a str,
    /// The response's status.
    pub status: u16,
    /// Time to the response, in whole microseconds (logged as `duration_ms`).
    pub duration_us: u64,
    /// The operation's label, bounded as the metrics bound it.
    pub operation: Option<&'a str>,
    /// The persisted document named, if any.
    pub document: Option<&'a str>,
    /// Where the answer came from, one word (`reused`, `fresh`, …).
    pub source: &'a str,
    /// Upstream requests sent for this request.
    pub upstream_calls: u32,
}

thread_local! {
    /// The line being written, kept between lines, and this thread's handle on the writer
    /// (a handle per line would be two shared counters taken and given back every time).
    static LINE: RefCell<(String, Option<NonBlocking>)> = const { RefCell::new((String::new(), None)) };
}

/// Logs `line`: straight to the writer thread when the log is the default text one,
/// otherwise as a `tracing` event in the current (`request`) span.
pub(crate) fn log(line: &AccessLine<'_>) {
    let Some(direct) = DIRECT.get() else {
        return event(line);
    };
    LINE.with_borrow_mut(|(text, writer)| {
        text.clear();
        if format(text, line, SystemTime::now()).is_ok() {
            // The writer thread takes the line; a full buffer waits for room, as for events.
            let writer = writer.get_or_insert_with(|| direct.make_writer());
            let _ = writer.write_all(text.as_bytes());
        }
    });
}

/// `line` as a `tracing` event.
fn event(line: &AccessLine<'_>) {
    tracing::info!(
        target: TARGET,
        // A field rather than a format string: written as text, not through `fmt`.
        message = "request",
        // The span carries the id; without it, the line still must.
        id = (!line.in_span).then_some(line.id),
        method = line.method,
        path = line.path,
        status = line.status,
        duration_ms = line.duration_us as f64 / 1000.0,
        operation = line.operation,
        document = line.document,
        source = line.source,
        upstream_calls = line.upstream_calls,
    );
}

/// The line as the text format writes the event. The id (a sane request id), the method (an
/// HTTP token) and the source (a word) never need quotes, so only the other strings are
/// checked for them.
fn format(text: &mut String, line: &AccessLine<'_>, now: SystemTime) -> std::fmt::Result {
    debug_assert!(
        bare(line.id) && bare(line.method) && bare(line.source),
        "{line:?}"
    );
    write_time(&mut Writer::new(text), now)?;
    if line.in_span {
        text.push_str("  INFO request{id=");
        text.push_str(line.id);
        text.push_str(" method=");
        text.push_str(line.method);
        field(text, " path=", line.path)?;
        text.push_str("}: ");
        text.push_str(TARGET);
        text.push_str(": request");
    } else {
        text.push_str("  INFO ");
        text.push_str(TARGET);
        text.push_str(": request id=");
        text.push_str(line.id);
    }
    text.push_str(" method=");
    text.push_str(line.method);
    field(text, " path=", line.path)?;
    let mut integer = itoa::Buffer::new();
    text.push_str(" status=");
    text.push_str(integer.format(line.status));
    text.push_str(" duration_ms=");
    millis(text, line.duration_us, &mut integer);
    if let Some(operation) = line.operation {
        field(text, " operation=", operation)?;
    }
    if let Some(document) = line.document {
        field(text, " document=", document)?;
    }
    text.push_str(" source=");
    text.push_str(line.source);
    text.push_str(" upstream_calls=");
    text.push_str(integer.format(line.upstream_calls));
    text.push('\n');
    Ok(())
}

/// `micros` in milliseconds as `ryu` writes the `f64` (`0.123`, `12.0`): the shortest decimal
/// is the exact one, as a double tells thousandths apart far beyond any request's duration.
fn millis(text: &mut String, micros: u64, integer: &mut itoa::Buffer) {
    text.push_str(integer.format(micros / 1000));
    text.push('.');
    let fraction = micros % 1000;
    if fraction == 0 {
        text.push('0');
        return;
    }
    let digits = [fraction / 100, fraction / 10 % 10, fraction % 10];
    let last = if digits[2] != 0 {
        3
    } else if digits[1] != 0 {
        2
    } else {
        1
    };
    for digit in &digits[..last] {
        text.push(char::from(b'0' + *digit as u8));
    }
}

/// `key` (` name=`) and `value`, quoted as the text format quotes it when it must be.
fn field(text: &mut String, key: &str, value: &str) -> std::fmt::Result {
    text.push_str(key);
    if bare(value) {
        text.push_str(value);
        Ok(())
    } else {
        write!(text, "{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::{EnvFilter, layer::SubscriberExt};

    use super::*;
    use crate::telemetry::{
        fields::{PlainFields, tests::Lines},
        line::TextLine,
    };

    /// Length of the time at a line's start.
    const TIME: usize = "2026-12-05T03:47:43.248940Z".len();

    /// What the text format writes for `line` as an event under `filter`, time cut off.
    fn through_tracing(line: &AccessLine<'_>, filter: &str) -> String {
        let lines = Lines::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(TextLine::default())
            .fmt_fields(PlainFields)
            .with_writer(lines.clone());
        let subscriber = tracing_subscriber::registry()
            .with(layer)
            .with(EnvFilter::new(filter));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                id = line.id,
                method = line.method,
                path = line.path
            );
            let _entered = span.enter();
            event(line);
        });
        let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        written[TIME..].to_owned()
    }

    fn direct(line: &AccessLine<'_>) -> String {
        let mut text = String::new();
        format(&mut text, line, SystemTime::now()).unwrap();
        text[TIME..].to_owned()
    }

    const PLAIN: AccessLine<'static> = AccessLine {
        in_span: true,
        id: "0123456789abcdef01234567",
        method: "POST",
        path: "/graphql",
        status: 200,
        duration_us: 123,
        operation: Some("Listing"),
        document: None,
        source: "reused",
        upstream_calls: 0,
    };

    #[test]
    fn the_direct_line_is_the_events_line() {
        let written = direct(&PLAIN);
        assert_eq!(written, through_tracing(&PLAIN, "info"));
        assert_eq!(
            written,
            "  INFO request{id=0123456789abcdef01234567 method=POST path=/graphql}: \
             elements_gateway::access: request method=POST path=/graphql status=200 \
             duration_ms=0.123 operation=Listing source=reused upstream_calls=0\n"
        );
        let odd = AccessLine {
            id: "caller-1:a.b_c",
            path: "/graphql/x=\"y\"",
            status: 431,
            duration_us: 12_000,
            operation: None,
            document: Some("two words"),
            source: "refused",
            upstream_calls: 3,
            ..PLAIN
        };
        assert_eq!(direct(&odd), through_tracing(&odd, "info"));
        assert!(direct(&odd).contains(r#"path="/graphql/x=\"y\"""#));
    }

    #[test]
    fn the_duration_is_written_as_ryu_writes_it() {
        let mut integer = itoa::Buffer::new();
        let large = [
            1_000_000_007,
            86_400_000_000,
            u64::from(u32::MAX) * 1000 + 10,
        ];
        for micros in (0..200_000).chain(large) {
            let mut text = String::new();
            millis(&mut text, micros, &mut integer);
            let expected = ryu::Buffer::new().format(micros as f64 / 1000.0).to_owned();
            assert_eq!(text, expected, "{micros} µs");
        }
    }

    #[test]
    fn without_the_request_span_the_line_has_no_span() {
        let line = AccessLine {
            in_span: false,
            ..PLAIN
        };
        let written = direct(&line);
        assert_eq!(
            written,
            through_tracing(&line, "warn,elements_gateway::access=info")
        );
        assert!(written.starts_with(
            "  INFO elements_gateway::access: request id=0123456789abcdef01234567 method=POST"
        ));
    }
}
