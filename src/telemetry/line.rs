//! The text format's line, for standard error that is not a terminal: the layout of
//! tracing-subscriber's `Full` format (`time LEVEL span{fields}:… target: fields`) written
//! with plain string writes. `Full` paints every part through `fmt` even with colour off, and
//! formats the time anew for every line, which made it most of the access line's cost to a
//! reused answer (BENCHMARKS.md, step 34); here the time's date and second are formatted once
//! a second per thread.

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    time::{SystemTime, UNIX_EPOCH},
};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::{Format, Full, Writer},
        time::SystemTime as Timer,
    },
    registry::LookupSpan,
};

/// `Full`'s layout without colour, written cheaply. Events from the `log` crate (through
/// tracing-log, whose metadata `Full` normalises) are left to `Full` itself.
#[derive(Debug, Default)]
pub(super) struct TextLine {
    full: Format<Full, Timer>,
}

impl<S, N> FormatEvent<S, N> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        if metadata.fields().field("log.target").is_some() {
            return self.full.format_event(context, writer, event);
        }
        write_time(&mut writer, SystemTime::now())?;
        writer.write_str(level(metadata.level()))?;
        if let Some(scope) = context.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                seen = true;
                writer.write_str(span.metadata().name())?;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(metadata.target())?;
        writer.write_str(": ")?;
        context.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// The level as `Full` writes it: right-aligned in five columns, between spaces.
fn level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => " TRACE ",
        Level::DEBUG => " DEBUG ",
        Level::INFO => "  INFO ",
        Level::WARN => "  WARN ",
        Level::ERROR => " ERROR ",
    }
}

thread_local! {
    /// The second last formatted on this thread, and its text up to the fraction's point.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `now` in RFC 3339 to the microsecond, in UTC (`2026-12-05T03:47:43.248940Z`), as
/// tracing-subscriber's `SystemTime` timer writes it.
pub(super) fn write_time(writer: &mut Writer<'_>, now: SystemTime) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (seconds, micros) = (since.as_secs(), since.subsec_micros());
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != seconds {
            *second = seconds;
            text.clear();
            let time = i64::try_from(seconds)
                .ok()
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                .unwrap_or_default();
            write!(text, "{}.", time.format("%Y-%m-%dT%H:%M:%S"))?;
        }
        writer.write_str(text)
    })?;
    let mut fraction = [b'0'; 7];
    let mut rest = micros;
    for digit in fraction[..6].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    fraction[6] = b'Z';
    writer.write_str(std::str::from_utf8(&fraction).map_err(|_| fmt::Error)?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn time_text(now: SystemTime) -> String {
        let mut text = String::new();
        write_time(&mut Writer::new(&mut text), now).unwrap();
        text
    }

    #[test]
    fn the_time_is_written_as_tracing_subscribers_timer_writes_it() {
        let now = UNIX_EPOCH + Duration::new(1_796_442_463, 248_940_123);
        assert_eq!(time_text(now), "2026-12-05T03:47:43.248940Z");
        // The same second again, from the thread's cache; then the next one.
        let later = now + Duration::from_micros(7);
        assert_eq!(time_text(later), "2026-12-05T03:47:43.248947Z");
        assert_eq!(
            time_text(now + Duration::from_secs(1)),
            "2026-12-05T03:47:44.248940Z"
        );
        assert_eq!(time_text(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }
}
