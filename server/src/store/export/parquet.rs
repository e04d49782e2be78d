//! Parquet output of the tidy tables with the low-level column writer (no Arrow), Snappy
//! compression, one row group per 64k rows.
//!
//! Physical/logical types: Utf8 -> `BYTE_ARRAY (STRING)`, Int32 -> `INT32`, Int64 -> `INT64`,
//! Float64 -> `DOUBLE`, Bool -> `BOOLEAN`, TimestampUs -> `INT64 (TIMESTAMP(MICROS,true))`,
//! ListFloat64 -> `required group (LIST) { repeated group list { required double element } }`.
//! Nullable columns are `optional`.

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;

use crate::store::export::tables::{ColType, Table, Value};

/// Rows per row group.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// The Parquet message type of a table.
pub fn message_type(table: &Table) -> String {
    let mut s = format!("message {} {{\n", table.name);
    for c in &table.columns {
        let rep = if c.nullable { "optional" } else { "required" };
        let line = match c.ty {
            ColType::Utf8 => format!("  {rep} binary {} (STRING);\n", c.name),
            ColType::Int32 => format!("  {rep} int32 {};\n", c.name),
            ColType::Int64 => format!("  {rep} int64 {};\n", c.name),
            ColType::Float64 => format!("  {rep} double {};\n", c.name),
            ColType::Bool => format!("  {rep} boolean {};\n", c.name),
            ColType::TimestampUs => {
                format!("  {rep} int64 {} (TIMESTAMP(MICROS,true));\n", c.name)
            }
            ColType::ListFloat64 => format!(
                "  {rep} group {} (LIST) {{\n    repeated group list {{\n      required double element;\n    }}\n  }}\n",
                c.name
            ),
        };
        s.push_str(&line);
    }
    s.push('}');
    s
}

fn err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Definition levels and present values of a scalar column.
fn levels(rows: &[Vec<Value>], idx: usize, nullable: bool) -> (Vec<&Value>, Option<Vec<i16>>) {
    let mut vals = Vec::with_capacity(rows.len());
    let mut defs = Vec::with_capacity(if nullable { rows.len() } else { 0 });
    for r in rows {
        let v = r.get(idx).unwrap_or(&Value::Null);
        if matches!(v, Value::Null) {
            defs.push(0);
        } else {
            defs.push(1);
            vals.push(v);
        }
    }
    (vals, nullable.then_some(defs))
}

fn write_column(
    col: &mut SerializedColumnWriter<'_>,
    ty: ColType,
    nullable: bool,
    rows: &[Vec<Value>],
    idx: usize,
) -> std::io::Result<()> {
    if ty == ColType::ListFloat64 {
        let mut vals = Vec::new();
        let mut defs = Vec::new();
        let mut reps = Vec::new();
        // Optional lists add one definition level for "list present".
        let base: i16 = if nullable { 1 } else { 0 };
        for r in rows {
            match r.get(idx) {
                Some(Value::List(xs)) if !xs.is_empty() => {
                    for (i, x) in xs.iter().enumerate() {
                        vals.push(*x);
                        defs.push(base + 1);
                        reps.push(if i == 0 { 0 } else { 1 });
                    }
                }
                Some(Value::List(_)) => {
                    defs.push(base);
                    reps.push(0);
                }
                _ => {
                    defs.push(0);
                    reps.push(0);
                }
            }
        }
        col.typed::<DoubleType>()
            .write_batch(&vals, Some(&defs), Some(&reps))
            .map_err(err)?;
        return Ok(());
    }
    let (vals, defs) = levels(rows, idx, nullable);
    let defs = defs.as_deref();
    match ty {
        ColType::Utf8 => {
            let v: Vec<ByteArray> = vals
                .iter()
                .map(|v| match v {
                    Value::Str(s) => ByteArray::from(s.as_str()),
                    _ => ByteArray::from(""),
                })
                .collect();
            col.typed::<ByteArrayType>().write_batch(&v, defs, None)
        }
        ColType::Int32 => {
            let v: Vec<i32> = vals
                .iter()
                .map(|v| if let Value::I32(x) = v { *x } else { 0 })
                .collect();
            col.typed::<Int32Type>().write_batch(&v, defs, None)
        }
        ColType::Int64 | ColType::TimestampUs => {
            let v: Vec<i64> = vals
                .iter()
                .map(|v| match v {
                    Value::I64(x) | Value::Ts(x) => *x,
                    _ => 0,
                })
                .collect();
            col.typed::<Int64Type>().write_batch(&v, defs, None)
        }
        ColType::Float64 => {
            let v: Vec<f64> = vals
                .iter()
                .map(|v| if let Value::F64(x) = v { *x } else { 0.0 })
                .collect();
            col.typed::<DoubleType>().write_batch(&v, defs, None)
        }
        ColType::Bool => {
            let v: Vec<bool> = vals
                .iter()
                .map(|v| matches!(v, Value::Bool(true)))
                .collect();
            col.typed::<BoolType>().write_batch(&v, defs, None)
        }
        ColType::ListFloat64 => Ok(0),
    }
    .map(|_| ())
    .map_err(err)
}

/// Write one table as a Parquet file.
pub fn write_parquet<W: std::io::Write + Send>(table: &Table, out: W) -> std::io::Result<()> {
    let schema = Arc::new(parse_message_type(&message_type(table)).map_err(err)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by("stablesteering event store".into())
            .build(),
    );
    let mut writer = SerializedFileWriter::new(out, schema, props).map_err(err)?;
    let chunks: Vec<&[Vec<Value>]> = if table.rows.is_empty() {
        vec![&[]]
    } else {
        table.rows.chunks(ROW_GROUP_ROWS).collect()
    };
    for rows in chunks {
        let mut rg = writer.next_row_group().map_err(err)?;
        let mut idx = 0;
        while let Some(mut col) = rg.next_column().map_err(err)? {
            let c = table
                .columns
                .get(idx)
                .ok_or_else(|| err("schema/column mismatch"))?;
            write_column(&mut col, c.ty, c.nullable, rows, idx)?;
            col.close().map_err(err)?;
            idx += 1;
        }
        rg.close().map_err(err)?;
    }
    writer.close().map_err(err)?;
    Ok(())
}
