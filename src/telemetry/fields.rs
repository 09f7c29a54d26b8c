//! The text format's fields, written without `fmt`'s machinery where the value allows it:
//! integers through itoa, floats through ryu, text as it is. tracing-subscriber's own field
//! format sends every value through `fmt`, which made the access line the largest cost the
//! gateway adds to a reused answer (see BENCHMARKS.md, step 29).
//!
//! Text is quoted and escaped (`Debug`) unless it is all visible ASCII without `"`, `\` or
//! `=`, so a value can neither break a line nor pass for another field.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::{
    field::RecordFields,
    fmt::{FormatFields, format::Writer},
};

/// The field format of the text log: `name=value` separated by spaces, the message bare.
#[derive(Debug, Default)]
pub(super) struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Plain {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes one record's fields.
struct Plain<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl Plain<'_> {
    /// Writes the separator and `name=` (nothing of the two for the message).
    fn name(&mut self, field: &Field) -> fmt::Result {
        if !self.first {
            self.writer.write_char(' ')?;
        }
        self.first = false;
        if field.name() != "message" {
            self.writer.write_str(field.name())?;
            self.writer.write_char('=')?;
        }
        Ok(())
    }

    fn plain(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| self.writer.write_str(value));
        }
    }
}

/// Whether `text` can be written unquoted: it is not empty and has only printable ASCII
/// other than `"`, `\` and `=`.
pub(super) fn bare(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| BARE[usize::from(byte)])
}

/// [`bare`]'s test of each byte, as a table: one load a byte, where the test is six compares.
const BARE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let value = byte as u8;
        table[byte] = value.is_ascii_graphic() && !matches!(value, b'"' | b'\\' | b'=');
        byte += 1;
    }
    table
};

impl Visit for Plain<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.plain(field, itoa::Buffer::new().format(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.plain(field, itoa::Buffer::new().format(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.plain(field, ryu::Buffer::new().format(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.plain(field, if value { "true" } else { "false" });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if bare(value) || field.name() == "message" {
            self.plain(field, value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self
                .name(field)
                .and_then(|()| write!(self.writer, "{value:?}"));
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt};

    use super::*;

    /// What the text format writes.
    #[derive(Clone, Default)]
    pub(crate) struct Lines(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[test]
    fn values_are_written_plainly_and_text_that_could_mislead_is_quoted() {
        let lines = Lines::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .fmt_fields(PlainFields)
            .with_writer(lines.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", id = "abc-1", path = "/graphql");
            let _entered = span.enter();
            tracing::info!(
                status = 200u64,
                delta = -3i64,
                duration_ms = 0.25,
                reused = true,
                source = "fresh",
                spaced = "a b",
                forged = "x\nstatus=500",
                empty = "",
                shown = %"display",
                "request"
            );
        });
        let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            written.trim(),
            "INFO request{id=abc-1 path=/graphql}: elements_gateway::telemetry::fields::tests: \
             request status=200 delta=-3 duration_ms=0.25 reused=true source=fresh \
             spaced=\"a b\" forged=\"x\\nstatus=500\" empty=\"\" shown=display"
        );
    }
}
