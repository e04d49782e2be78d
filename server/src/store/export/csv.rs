//! CSV output of the tidy tables (RFC 4180 quoting, UTF-8, `\n` line ends).
//!
//! Cells: null = empty; strings quoted when they contain `,` `"` CR LF or leading/trailing
//! spaces (quotes doubled); floats in shortest round-trip form; timestamps RFC 3339 UTC;
//! lists as JSON arrays (`"[0.1,-0.2]"`). Column types are in `schema.json`.

use std::io::Write;

use crate::store::export::tables::{Table, Value};
use crate::store::util::rfc3339_us;

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

fn write_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if needs_quotes(s) {
        out.write_all(b"\"")?;
        out.write_all(s.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(s.as_bytes())
    }
}

fn f64_text(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        String::new()
    }
}

fn write_cell(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Null => Ok(()),
        Value::Str(s) => write_str(out, s),
        Value::I32(x) => write!(out, "{x}"),
        Value::I64(x) => write!(out, "{x}"),
        Value::F64(x) => out.write_all(f64_text(*x).as_bytes()),
        Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" }),
        Value::Ts(us) => out.write_all(rfc3339_us(*us).as_bytes()),
        Value::List(xs) => {
            let items: Vec<String> = xs.iter().map(|x| f64_text(*x)).collect();
            write_str(out, &format!("[{}]", items.join(",")))
        }
    }
}

/// Write one table as CSV with a header row.
pub fn write_csv(table: &Table, out: &mut impl Write) -> std::io::Result<()> {
    for (i, c) in table.columns.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_str(out, c.name)?;
    }
    out.write_all(b"\n")?;
    for row in &table.rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_cell(out, v)?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()
}
