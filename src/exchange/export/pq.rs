//! Tables as Parquet files, with the `parquet` crate's own column writers (no Arrow: a lean
//! build), zstd-compressed. Integers are INT64, times (`*_us` columns but `latency_us`) INT64
//! with the TIMESTAMP(MICROS, UTC) logical type, so readers load them as timestamps; text is
//! UTF-8 BYTE_ARRAY, absent values are nulls.

use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::path::Path;
use std::sync::Arc;

/// Rows per row group.
const GROUP: usize = 65_536;

pub enum Data {
    I64(Vec<Option<i64>>),
    F64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Str(Vec<Option<String>>),
}

pub struct Column {
    pub name: &'static str,
    /// Never null.
    pub required: bool,
    pub data: Data,
}

impl Column {
    pub fn i64(name: &'static str, v: impl Iterator<Item = i64>) -> Column {
        Column {
            name,
            required: true,
            data: Data::I64(v.map(Some).collect()),
        }
    }
    pub fn opt_i64(name: &'static str, v: impl Iterator<Item = Option<i64>>) -> Column {
        Column {
            name,
            required: false,
            data: Data::I64(v.collect()),
        }
    }
    pub fn opt_f64(name: &'static str, v: impl Iterator<Item = Option<f64>>) -> Column {
        Column {
            name,
            required: false,
            data: Data::F64(v.collect()),
        }
    }
    pub fn bool(name: &'static str, v: impl Iterator<Item = bool>) -> Column {
        Column {
            name,
            required: true,
            data: Data::Bool(v.map(Some).collect()),
        }
    }
    pub fn opt_bool(name: &'static str, v: impl Iterator<Item = Option<bool>>) -> Column {
        Column {
            name,
            required: false,
            data: Data::Bool(v.collect()),
        }
    }
    pub fn str(name: &'static str, v: impl Iterator<Item = String>) -> Column {
        Column {
            name,
            required: true,
            data: Data::Str(v.map(Some).collect()),
        }
    }
    pub fn opt_str(name: &'static str, v: impl Iterator<Item = Option<String>>) -> Column {
        Column {
            name,
            required: false,
            data: Data::Str(v.collect()),
        }
    }

    /// A point in time (µs since the epoch), not a count or a duration.
    pub fn is_time(&self) -> bool {
        matches!(self.data, Data::I64(_)) && self.name.ends_with("_us") && self.name != "latency_us"
    }

    /// Its type in `schema.json`.
    pub fn type_name(&self) -> &'static str {
        match self.data {
            Data::I64(_) if self.is_time() => "timestamp_us",
            Data::I64(_) => "integer",
            Data::F64(_) => "float",
            Data::Bool(_) => "bool",
            Data::Str(_) => "string",
        }
    }

    pub fn len(&self) -> usize {
        match &self.data {
            Data::I64(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }
}

fn schema(cols: &[Column]) -> String {
    let mut s = String::from("message blackbox {\n");
    for c in cols {
        let rep = if c.required { "REQUIRED" } else { "OPTIONAL" };
        let ty = match c.data {
            Data::I64(_) => "INT64",
            Data::F64(_) => "DOUBLE",
            Data::Bool(_) => "BOOLEAN",
            Data::Str(_) => "BYTE_ARRAY",
        };
        let logical = match c.data {
            Data::Str(_) => " (UTF8)",
            Data::I64(_) if c.is_time() => " (TIMESTAMP(MICROS,true))",
            _ => "",
        };
        s.push_str(&format!("  {rep} {ty} {}{logical};\n", c.name));
    }
    s.push('}');
    s
}

/// Values and definition levels of one slice of an optional column.
fn split<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
    let mut vals = Vec::with_capacity(v.len());
    let mut defs = Vec::with_capacity(v.len());
    for x in v {
        match x {
            Some(x) => {
                vals.push(x.clone());
                defs.push(1);
            }
            None => defs.push(0),
        }
    }
    (vals, defs)
}

/// Writes the table at `path`, whole or not at all (`outfile`), never over `db`.
pub fn write(db: &Path, path: &Path, cols: &[Column]) -> std::io::Result<()> {
    crate::outfile::write_file(path, db, |f| {
        table(f, cols).map_err(|e| match e {
            parquet::errors::ParquetError::External(x) => std::io::Error::other(x),
            e => std::io::Error::other(e),
        })
    })
}

fn table(file: &mut std::fs::File, cols: &[Column]) -> parquet::errors::Result<()> {
    let rows = cols.first().map_or(0, Column::len);
    let schema = Arc::new(parquet::schema::parser::parse_message_type(&schema(cols))?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_created_by(format!("beacon-blackbox {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut w = SerializedFileWriter::new(file, schema, props)?;
    let mut start = 0;
    // An empty table still gets its schema (and one empty row group).
    loop {
        let end = (start + GROUP).min(rows);
        let mut rg = w.next_row_group()?;
        let mut k = 0;
        while let Some(mut col) = rg.next_column()? {
            let c = &cols[k];
            let defs_for = |d: Vec<i16>| (!c.required).then_some(d);
            match &c.data {
                Data::I64(v) => {
                    let (vals, defs) = split(&v[start..end]);
                    col.typed::<Int64Type>()
                        .write_batch(&vals, defs_for(defs).as_deref(), None)?;
                }
                Data::F64(v) => {
                    let (vals, defs) = split(&v[start..end]);
                    col.typed::<DoubleType>().write_batch(
                        &vals,
                        defs_for(defs).as_deref(),
                        None,
                    )?;
                }
                Data::Bool(v) => {
                    let (vals, defs) = split(&v[start..end]);
                    col.typed::<BoolType>()
                        .write_batch(&vals, defs_for(defs).as_deref(), None)?;
                }
                Data::Str(v) => {
                    let (vals, defs) = split(&v[start..end]);
                    let vals: Vec<ByteArray> = vals
                        .into_iter()
                        .map(|s| ByteArray::from(s.into_bytes()))
                        .collect();
                    col.typed::<ByteArrayType>().write_batch(
                        &vals,
                        defs_for(defs).as_deref(),
                        None,
                    )?;
                }
            }
            col.close()?;
            k += 1;
        }
        rg.close()?;
        start = end;
        if start >= rows {
            break;
        }
    }
    w.close()?;
    Ok(())
}
