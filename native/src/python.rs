//! The PyO3 layer: conversions only. The module is `wardstream._native`; its one
//! caller is `wardstream.serde.native`, which turns error values into the
//! package's exception types.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::locate::{Locator, SubjectId};
use crate::schema::SchemaError;

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
        let inner = Locator::new(schema_json, subject_path, time_path, canonical).map_err(|e| {
            let kind = match e {
                SchemaError::Invalid(_) => "invalid",
                SchemaError::NotRecord => "not_record",
                SchemaError::Unsupported(_) => "unsupported",
                SchemaError::UnknownPath(_) => "unknown_path",
            };
            PyValueError::new_err((kind, e.to_string()))
        })?;
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
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AvroLocator>()?;
    crate::python_store::register(m)?;
    Ok(())
}
