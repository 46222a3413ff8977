//! The PyO3 layer: conversions only. The module is `wardstream._native`; its one
//! caller is `wardstream.serde.native`, which turns error values into the
//! package's exception types.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::audit;
use crate::lane::{self, Entry, Table};
use crate::locate::{Locator, SubjectId};
use crate::quarantined;
use crate::schema::SchemaError;
use crate::shape::Shape;

/// Locates a batch of schemaless Avro values: `AvroLocator(schema_json,
/// subject_path, time_path, canonical)`; see `wardstream/_native.pyi`.
#[pyclass(frozen, module = "wardstream._native")]
struct AvroLocator {
    inner: Locator,
}

#[pymethods]
impl AvroLocator {
    #[new]
    #[pyo3(signature = (schema_json, subject_path, time_path, canonical = true))]
    fn new(
        schema_json: &str,
        subject_path: Option<&str>,
        time_path: Option<&str>,
        canonical: bool,
    ) -> PyResult<Self> {
        let inner =
            Locator::new(schema_json, subject_path, time_path, canonical).map_err(schema_error)?;
        Ok(AvroLocator { inner })
    }

    #[getter]
    fn schema_name(&self) -> &str {
        self.inner.schema_name()
    }

    /// `(subjects, micros, errors)`: per value its subject id (None when taken from
    /// the key, or on error) and event time in epoch microseconds (None on error);
    /// `errors` lists `(index, code, detail, cause)` for the values that failed.
    #[pyo3(signature = (values, timestamps = None))]
    fn locate<'py>(
        &self,
        py: Python<'py>,
        values: Vec<Bound<'py, PyBytes>>,
        timestamps: Option<Vec<Option<i64>>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if let Some(ts) = &timestamps {
            if ts.len() != values.len() {
                return Err(PyValueError::new_err((
                    "length",
                    "timestamps and values differ in length",
                )));
            }
        }
        // The bytes objects stay alive (and immutable) in `values` while the walk runs
        // without the GIL; the Python objects are made after it.
        let data: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let inner = &self.inner;
        let ts = timestamps.as_deref();
        let results: Vec<_> = py.detach(|| {
            let at = |i: usize| ts.and_then(|t| t[i]);
            data.iter()
                .enumerate()
                .map(|(i, bytes)| inner.locate(bytes, at(i)))
                .collect()
        });
        let subjects = PyList::empty(py);
        let micros = PyList::empty(py);
        let errors = PyList::empty(py);
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(found) => {
                    match found.subject {
                        Some(SubjectId::Text(text)) => subjects.append(PyString::new(py, text))?,
                        Some(SubjectId::Int(n)) => subjects.append(n.to_string())?,
                        None => subjects.append(py.None())?,
                    }
                    micros.append(found.micros)?;
                }
                Err(f) => {
                    subjects.append(py.None())?;
                    micros.append(py.None())?;
                    errors.append((i, f.code, f.detail, f.cause))?;
                }
            }
        }
        PyTuple::new(
            py,
            [subjects.into_any(), micros.into_any(), errors.into_any()],
        )
    }

    /// `(codes, counts, spans, held, redacted)` for a batch against `lane`: per value its decision
    /// code (`bytes` of native-endian u32s, for `memoryview(...).cast("I")`; 0: the
    /// Python path), `(partition, code, n)` per partition and
    /// code, `(subject, first, last)` per subject in the lane (epoch microseconds), and
    /// `(index, span index)` per passed event of a held (child's) entry, and `(index,
    /// bytes)`, the value to send, per event a shaped entry removed fields from, and
    /// `(index, code, subject, micros, waits, value)` per hinted event (code 0 in `codes`),
    /// and `(subject, micros)` of the first event of each subject without an entry, and
    /// the index of each record of such subjects. `cutoff`: held entries' events at or
    /// before it are past the hold; `only`: the indices to screen (see `lane::screen`).
    #[pyo3(signature = (values, timestamps, partitions, lane, cutoff, only = None))]
    #[allow(clippy::too_many_arguments)]
    fn screen<'py>(
        &self,
        py: Python<'py>,
        values: Vec<Option<Bound<'py, PyBytes>>>,
        timestamps: Vec<Option<i64>>,
        partitions: Vec<i32>,
        mut lane: PyRefMut<'py, LaneTable>,
        cutoff: i64,
        only: Option<Vec<usize>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if timestamps.len() != values.len() || partitions.len() != values.len() {
            return Err(PyValueError::new_err((
                "length",
                "values, timestamps and partitions differ in length",
            )));
        }
        let data: Vec<Option<&[u8]>> = values
            .iter()
            .map(|v| v.as_ref().map(|b| b.as_bytes()))
            .collect();
        let (inner, table) = (&self.inner, &mut lane.table);
        if only
            .as_ref()
            .is_some_and(|o| o.iter().any(|&i| i >= values.len()))
        {
            return Err(PyValueError::new_err((
                "length",
                "an index past the values",
            )));
        }
        let only = only.as_deref();
        let found =
            py.detach(|| lane::screen(inner, table, &data, &timestamps, &partitions, cutoff, only));
        let codes: Vec<u8> = found.codes.iter().flat_map(|c| c.to_ne_bytes()).collect();
        let spans = PyList::empty(py);
        for span in &found.spans {
            spans.append((PyString::new(py, &span.subject), span.first, span.last))?;
        }
        let redacted = PyList::empty(py);
        for (i, bytes) in &found.redacted {
            redacted.append((*i, PyBytes::new(py, bytes)))?;
        }
        let hinted = PyList::empty(py);
        for h in &found.hinted {
            let value = h.value.as_deref().map(|v| PyBytes::new(py, v));
            let subject = PyString::new(py, &h.subject);
            hinted.append((h.index, h.code, subject, h.micros, h.waits, value))?;
        }
        PyTuple::new(
            py,
            [
                PyBytes::new(py, &codes).into_any(),
                found.counts.into_pyobject(py)?.into_any(),
                spans.into_any(),
                found.held.into_pyobject(py)?.into_any(),
                redacted.into_any(),
                hinted.into_any(),
                found.unknown.into_pyobject(py)?.into_any(),
                found.unplaced.into_pyobject(py)?.into_any(),
            ],
        )
    }
}

/// The lane's table: `LaneTable()`; see `wardstream/_native.pyi`.
#[pyclass(module = "wardstream._native")]
#[derive(Default)]
struct LaneTable {
    table: Table,
}

#[pymethods]
impl LaneTable {
    #[new]
    fn new() -> Self {
        LaneTable::default()
    }

    #[pyo3(signature = (subject, from_micros, code, until_micros=i64::MAX, held=false, shape=0, aside=false))]
    #[allow(clippy::too_many_arguments)]
    fn set(
        &mut self,
        subject: &str,
        from_micros: i64,
        code: u32,
        until_micros: i64,
        held: bool,
        shape: u32,
        aside: bool,
    ) -> PyResult<()> {
        if code == 0 {
            return Err(PyValueError::new_err("code 0 means 'not in the lane'"));
        }
        if shape as usize > self.table.shapes() {
            return Err(PyValueError::new_err("no such shape"));
        }
        let entry = Entry {
            from: from_micros,
            until: until_micros,
            code,
            held,
            shape,
            aside,
        };
        self.table.set(subject, entry);
        Ok(())
    }

    /// A shape for `set`: see `wardstream/_native.pyi`.
    fn shape(
        &mut self,
        locator: PyRef<'_, AvroLocator>,
        probes: Vec<String>,
        codes: Vec<u32>,
        cuts: Vec<Vec<String>>,
    ) -> PyResult<u32> {
        let probes: Vec<&str> = probes.iter().map(String::as_str).collect();
        let cuts: Vec<Vec<&str>> = cuts
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let shape =
            Shape::new(locator.inner.plan(), &probes, codes, &cuts).map_err(schema_error)?;
        Ok(self.table.add_shape(shape))
    }

    fn discard(&mut self, subject: &str) -> bool {
        self.table.discard(subject)
    }

    fn clear(&mut self) {
        self.table.clear();
    }

    fn wait(&mut self, subject: &str) {
        self.table.wait(subject);
    }

    fn unwait(&mut self, subjects: Vec<String>) {
        for subject in &subjects {
            self.table.unwait(subject);
        }
    }

    fn waiting(&self) -> usize {
        self.table.waiting()
    }

    fn __len__(&self) -> usize {
        self.table.len()
    }
}

/// `seal_audit(...) -> (written, hash)`: an AuditRecord's sealed bytes and hash; the
/// arguments are its fields in the schema's order (times in epoch milliseconds, maps
/// as lists of pairs in their written order), less `hash`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (audit_id, at_ms, worker, pipeline, chain, seq, action, rule, reason,
    subject_ref, event_ref, consent_id, fields_redacted, counts, deadline_ms, attrs, prev_hash))]
fn seal_audit<'py>(
    py: Python<'py>,
    audit_id: &str,
    at_ms: i64,
    worker: &str,
    pipeline: &str,
    chain: &str,
    seq: i64,
    action: &str,
    rule: Option<&str>,
    reason: Option<&str>,
    subject_ref: Option<&str>,
    event_ref: Option<&str>,
    consent_id: Option<&str>,
    fields_redacted: Vec<String>,
    counts: Vec<(String, i64)>,
    deadline_ms: Option<i64>,
    attrs: Vec<(String, String)>,
    prev_hash: &str,
) -> (Bound<'py, PyBytes>, String) {
    let fields = audit::Fields {
        audit_id,
        at_ms,
        worker,
        pipeline,
        chain,
        seq,
        action,
        rule,
        reason,
        subject_ref,
        event_ref,
        consent_id,
        fields_redacted: fields_redacted.iter().map(String::as_str).collect(),
        counts: counts.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
        deadline_ms,
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        prev_hash,
    };
    let (written, hash) = audit::seal(&fields);
    (PyBytes::new(py, &written), hash)
}

fn schema_error(e: SchemaError) -> PyErr {
    let kind = match e {
        SchemaError::Invalid(_) => "invalid",
        SchemaError::NotRecord => "not_record",
        SchemaError::Unsupported(_) => "unsupported",
        SchemaError::UnknownPath(_) => "unknown_path",
    };
    PyValueError::new_err((kind, e.to_string()))
}

/// `encode_quarantined(...) -> bytes`: a QuarantinedEvent's schemaless Avro bytes; the
/// arguments are its fields in the schema's order (times in epoch milliseconds; the
/// `encryption` record as `key_id` and `alg`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (quarantine_id, pipeline, subject_id, reason, rule, key, value, headers,
    origin_topic, origin_partition, origin_offset, origin_timestamp_ms, event_time_ms,
    quarantined_at_ms, expires_at_ms, status, key_id, alg, subject_ref, sealed))]
fn encode_quarantined<'py>(
    py: Python<'py>,
    quarantine_id: &str,
    pipeline: &str,
    subject_id: &str,
    reason: &str,
    rule: Option<&str>,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    origin_topic: &str,
    origin_partition: i32,
    origin_offset: i64,
    origin_timestamp_ms: Option<i64>,
    event_time_ms: Option<i64>,
    quarantined_at_ms: i64,
    expires_at_ms: i64,
    status: &str,
    key_id: Option<&str>,
    alg: &str,
    subject_ref: Option<&str>,
    sealed: Option<&[u8]>,
) -> Bound<'py, PyBytes> {
    let held = quarantined::Held {
        quarantine_id,
        pipeline,
        subject_id,
        reason,
        rule,
        key,
        value,
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect(),
        origin_topic,
        origin_partition,
        origin_offset,
        origin_timestamp_ms,
        event_time_ms,
        quarantined_at_ms,
        expires_at_ms,
        status,
        key_id,
        alg,
        subject_ref,
        sealed,
        ..quarantined::Held::default()
    };
    PyBytes::new(py, &quarantined::encode(&held))
}

/// Sealed parts of a quarantined event: key, value, header values, subject and times.
type SealedParts<'py> = (
    Option<Bound<'py, PyBytes>>,
    Option<Bound<'py, PyBytes>>,
    Vec<(String, Option<Bound<'py, PyBytes>>)>,
    Bound<'py, PyBytes>,
);

/// `seal_quarantined(...)`: a quarantined event's key, value and header values sealed
/// under `data_key` (None stays None), and its subject id and times; see
/// `wardstream/_native.pyi`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn seal_quarantined<'py>(
    py: Python<'py>,
    data_key: &[u8],
    quarantine_id: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    subject_id: &str,
    origin_timestamp_ms: Option<i64>,
    event_time_ms: Option<i64>,
) -> PyResult<SealedParts<'py>> {
    let sealer = quarantined::Sealer::new(data_key, quarantine_id)
        .map_err(|_| PyValueError::new_err("a data key is 32 bytes"))?;
    let part =
        |name: &str, plain: Option<&[u8]>| plain.map(|p| PyBytes::new(py, &sealer.seal(name, p)));
    let sealed_headers = headers
        .iter()
        .enumerate()
        .map(|(i, (name, v))| {
            let place = format!("header|{i}|{name}");
            (name.clone(), part(&place, v.as_deref()))
        })
        .collect();
    let meta = sealer.seal_meta(subject_id, origin_timestamp_ms, event_time_ms);
    Ok((
        part("key", key),
        part("value", value),
        sealed_headers,
        PyBytes::new(py, &meta),
    ))
}

/// One decision's record of a batch: `(audit_id, action, rule, reason, subject_ref,
/// event_ref, consent_id, fields_redacted)`.
type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<String>,
);

/// `seal_audits(...) -> (written, hash)`: consecutive records of one chain (seq from
/// `seq`, each chained to the one before, the first to `prev_hash`), all written at
/// `at_ms`, no counts, deadline or attrs: their sealed bytes and the last hash.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn seal_audits<'py>(
    py: Python<'py>,
    at_ms: i64,
    worker: &str,
    pipeline: &str,
    chain: &str,
    seq: i64,
    prev_hash: &str,
    rows: Vec<Row>,
) -> PyResult<(Bound<'py, PyList>, String)> {
    let mut last = prev_hash.to_string();
    let mut written = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let (id, action, rule, reason, subject_ref, event_ref, consent_id, redacted) = row;
        let fields = audit::Fields {
            audit_id: id,
            at_ms,
            worker,
            pipeline,
            chain,
            seq: seq + i as i64,
            action,
            rule: rule.as_deref(),
            reason: reason.as_deref(),
            subject_ref: subject_ref.as_deref(),
            event_ref: event_ref.as_deref(),
            consent_id: consent_id.as_deref(),
            fields_redacted: redacted.iter().map(String::as_str).collect(),
            prev_hash: &last,
            ..audit::Fields::default()
        };
        let (bytes, hash) = audit::seal(&fields);
        written.push(bytes);
        last = hash;
    }
    let out = PyList::empty(py);
    for bytes in &written {
        out.append(PyBytes::new(py, bytes))?;
    }
    Ok((out, last))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(seal_audit, m)?)?;
    m.add_function(wrap_pyfunction!(seal_audits, m)?)?;
    m.add_function(wrap_pyfunction!(encode_quarantined, m)?)?;
    m.add_function(wrap_pyfunction!(seal_quarantined, m)?)?;
    m.add_class::<AvroLocator>()?;
    m.add_class::<LaneTable>()?;
    crate::python_store::register(m)?;
    Ok(())
}
