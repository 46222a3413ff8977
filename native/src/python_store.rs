//! The PyO3 layer of `store::BlobTable`: conversions only. Python's face is
//! `wardstream.state.table.BlobTable`; see `wardstream/_native.pyi`.

use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::consent;
use crate::profile::{self, Packer};
use crate::store::chunk::load_run;
use crate::store::{BlobTable, Full};

/// Hands `store` the value of each row from `start` on while the rows are records of
/// `topic` with a value (not a tombstone) and `store` takes them; where it stopped.
fn absorb_run(
    rows: &Bound<'_, PyList>,
    start: usize,
    topic: &str,
    mut store: impl FnMut(&[u8]) -> Result<bool, Full>,
) -> PyResult<usize> {
    let mut i = start;
    while i < rows.len() {
        let row = rows.get_item(i)?;
        let row = row.cast::<PyTuple>()?;
        if row.get_borrowed_item(0)?.cast::<PyString>()?.to_str()? != topic {
            break;
        }
        let value = row.get_borrowed_item(4)?;
        let Ok(value) = value.cast::<PyBytes>() else {
            break; // a tombstone
        };
        if !store(value.as_bytes()).map_err(full_error)? {
            break;
        }
        i += 1;
    }
    Ok(i)
}

fn full_error(full: Full) -> PyErr {
    PyMemoryError::new_err(format!(
        "{full}: give the worker fewer subjects (partition the state, docs/scaling.md)"
    ))
}

/// bytes -> bytes for millions of small entries (the state's profiles and ledgers).
/// A profile table (`profile_bands` given) packs its values (`profile::Packer`) and
/// hands them out unpacked: Python sees the same bytes either way.
#[pyclass(name = "BlobTable", module = "wardstream._native")]
struct PyBlobTable {
    inner: BlobTable,
    packer: Option<Packer>,
    scratch: Vec<u8>,
}

impl PyBlobTable {
    /// A stored value as it was put.
    fn out<'py>(&self, py: Python<'py>, stored: &[u8]) -> Bound<'py, PyBytes> {
        let Some(packer) = &self.packer else {
            return PyBytes::new(py, stored);
        };
        let mut value = Vec::with_capacity(2 * stored.len());
        // A stored value always unpacks (the table packed it, with words it holds).
        let _ = packer.unpack(stored, &mut value);
        PyBytes::new(py, &value)
    }

    /// A value no longer stored: its words have one use fewer; as it was put.
    fn released<'py>(&mut self, py: Python<'py>, old: &[u8]) -> Bound<'py, PyBytes> {
        let value = self.out(py, old);
        if let Some(packer) = &mut self.packer {
            packer.release(old);
        }
        value
    }
}

#[pymethods]
impl PyBlobTable {
    #[new]
    #[pyo3(signature = (profile_bands=None))]
    fn new(profile_bands: Option<usize>) -> Self {
        PyBlobTable {
            inner: BlobTable::new(),
            packer: profile_bands.map(Packer::new),
            scratch: Vec::new(),
        }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, key: &[u8]) -> bool {
        self.inner.contains(key)
    }

    fn get<'py>(&self, py: Python<'py>, key: &[u8]) -> Option<Bound<'py, PyBytes>> {
        self.inner.get(key).map(|stored| self.out(py, stored))
    }

    /// Sets `key` to `value`; the value it had, or None.
    fn put<'py>(
        &mut self,
        py: Python<'py>,
        key: &[u8],
        value: &[u8],
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let Some(packer) = &mut self.packer else {
            let old = self.inner.put(key, value, |old| PyBytes::new(py, old));
            return old.map_err(full_error);
        };
        if profile::is_packed(value) {
            return Err(PyValueError::new_err(
                "a profile value starts as a packed one would; no value the decoders accept does",
            ));
        }
        let mut stored = std::mem::take(&mut self.scratch);
        stored.clear();
        packer.pack(value, &mut stored);
        let old = self.inner.put(key, &stored, |old| old.to_vec());
        if old.is_err() {
            packer.release(&stored);
        }
        self.scratch = stored;
        Ok(old.map_err(full_error)?.map(|old| self.released(py, &old)))
    }

    /// Removes `key`; the value it had, or None.
    fn pop<'py>(&mut self, py: Python<'py>, key: &[u8]) -> Option<Bound<'py, PyBytes>> {
        let old = self.inner.pop(key, |old| old.to_vec())?;
        Some(self.released(py, &old))
    }

    /// Puts the leading run of a snapshot chunk's records with this head byte (the
    /// stored form of this table's topic) from `start` on; `(stopped_at, loaded)`.
    fn load_run(&mut self, chunk: &[u8], head: u8, start: usize) -> PyResult<(usize, usize)> {
        let (packer, stored) = (&mut self.packer, &mut self.scratch);
        let run = load_run(&mut self.inner, chunk, head, start, |table, key, value| {
            let Some(packer) = packer else {
                return table.put(key, value, |_| ()).map(drop);
            };
            stored.clear();
            packer.pack(value, stored);
            table.put(key, stored, |_| ()).map(drop) // a new key: no old value to release
        });
        let run = run.map_err(full_error)?;
        Ok((run.stopped_at, run.loaded))
    }

    /// Stores the leading run of `ward.subjects` rows `(topic, partition, offset, key,
    /// value)` from `start` on that `profile::store_profile` takes; where it stopped.
    /// The caller applies that row record by record. A profile table's only.
    fn absorb_profiles(
        &mut self,
        rows: &Bound<'_, PyList>,
        start: usize,
        topic: &str,
    ) -> PyResult<usize> {
        let (table, Some(packer)) = (&mut self.inner, &mut self.packer) else {
            return Err(PyValueError::new_err("not a profile table"));
        };
        absorb_run(rows, start, topic, |v| {
            profile::store_profile(table, v, packer)
        })
    }

    /// Appends the leading run of `ward.consents` rows from `start` on that
    /// `consent::store_grant` takes to their subjects' ledgers, packed; `(where it
    /// stopped, the grants with an expiry)`, the latter packed as `ExpiryIndex` packs them.
    fn absorb_grants<'py>(
        &mut self,
        py: Python<'py>,
        rows: &Bound<'py, PyList>,
        start: usize,
        topic: &str,
        shape: &ConsentShape,
    ) -> PyResult<(usize, Bound<'py, PyBytes>)> {
        let (table, mut expiring) = (&mut self.inner, Vec::new());
        let stopped = absorb_run(rows, start, topic, |v| {
            consent::store_grant(table, v, &shape.inner, &mut expiring)
        })?;
        Ok((stopped, PyBytes::new(py, &expiring)))
    }

    fn nbytes(&self) -> usize {
        self.inner.nbytes()
    }

    /// Words a profile table keeps for its packed values now (0 for any other table).
    fn words(&self) -> usize {
        self.packer.as_ref().map_or(0, Packer::words)
    }

    /// Makes room for `additional` more keys at once (a bulk read that knows its size).
    fn reserve(&mut self, additional: usize) {
        self.inner.reserve(additional);
    }

    /// Gives back room `reserve` made and no keys came to use.
    fn shrink_index(&mut self) {
        self.inner.shrink_index();
    }

    /// `(arena bytes used, arena capacity, index bytes)`.
    fn footprint(&self) -> (usize, usize, usize) {
        self.inner.footprint()
    }

    fn compact(&mut self) {
        self.inner.compact();
    }

    fn keys(slf: Py<Self>, py: Python<'_>) -> Entries {
        Entries::new(slf, py, false)
    }

    fn items(slf: Py<Self>, py: Python<'_>) -> Entries {
        Entries::new(slf, py, true)
    }

    fn __iter__(slf: Py<Self>, py: Python<'_>) -> Entries {
        Entries::new(slf, py, false)
    }
}

/// Keys, or (key, value) pairs, in insertion order. The table may take new
/// entries and new values meanwhile; a change that moves records (a compaction,
/// the last record removed) ends the iteration with RuntimeError.
#[pyclass(module = "wardstream._native")]
struct Entries {
    table: Py<PyBlobTable>,
    pos: usize,
    generation: u64,
    items: bool,
}

impl Entries {
    fn new(table: Py<PyBlobTable>, py: Python<'_>, items: bool) -> Self {
        let generation = table.borrow(py).inner.generation();
        Entries {
            table,
            pos: 0,
            generation,
            items,
        }
    }
}

#[pymethods]
impl Entries {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let table = self.table.borrow(py);
        if table.inner.generation() != self.generation {
            return Err(PyRuntimeError::new_err(
                "the state table moved its entries during iteration",
            ));
        }
        let Some((next, key, value)) = table.inner.next_from(self.pos) else {
            return Ok(None);
        };
        self.pos = next;
        let key = PyBytes::new(py, key);
        if !self.items {
            return Ok(Some(key.into_any()));
        }
        Ok(Some(
            PyTuple::new(py, [key, table.out(py, value)])?.into_any(),
        ))
    }
}

/// What the native consent reader needs of the schema and the domain: the enums'
/// sizes, `GRANTED`'s number and the data categories known (`consent::Shape`).
#[pyclass(module = "wardstream._native", frozen)]
struct ConsentShape {
    inner: consent::Shape,
}

#[pymethods]
impl ConsentShape {
    #[new]
    #[pyo3(signature = (enums, categories, purposes=Vec::new()))]
    fn new(enums: (usize, usize, usize), categories: Vec<Vec<u8>>, purposes: Vec<Vec<u8>>) -> Self {
        let (granted_by, actions, granted) = enums;
        ConsentShape {
            inner: consent::Shape {
                granted_by,
                actions,
                granted,
                categories,
                purposes,
            },
        }
    }

    /// The ledger entry of a consent event's value: a two-byte length, then the event,
    /// packed when it is usual; None when an entry cannot hold it (`consent::entry`).
    fn entry<'py>(&self, py: Python<'py>, value: &[u8]) -> Option<Bound<'py, PyBytes>> {
        let mut out = Vec::with_capacity(value.len() + 2);
        consent::entry(value, &self.inner, &mut out)?;
        Some(PyBytes::new(py, &out))
    }

    /// A stored ledger with every packed event unpacked (Avro values, as on the topic).
    fn unpack<'py>(
        &self,
        py: Python<'py>,
        stored: &[u8],
        subject: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let out = consent::unpack_ledger(stored, subject, &self.inner)
            .ok_or_else(|| PyValueError::new_err("a stored consent ledger is malformed"))?;
        Ok(PyBytes::new(py, &out))
    }
}

/// The offset of the last of `rows` `(topic, partition, offset, key, value)` of each
/// topic partition: `{(topic, partition): offset}`. A snapshot notes them per batch.
#[pyfunction]
fn last_offsets<'py>(py: Python<'py>, rows: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let mut last: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> = None;
    for row in rows.iter() {
        let row = row.cast_into::<PyTuple>()?;
        let (topic, partition) = (row.get_item(0)?, row.get_item(1)?);
        let offset = row.get_item(2)?;
        if let Some((t, p, o)) = &mut last {
            if topic.eq(&*t)? && partition.eq(&*p)? {
                *o = offset;
                continue;
            }
            out.set_item((&*t, &*p), &*o)?;
        }
        last = Some((topic, partition, offset));
    }
    if let Some((t, p, o)) = last {
        out.set_item((t, p), o)?;
    }
    Ok(out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(last_offsets, m)?)?;
    m.add_class::<PyBlobTable>()?;
    m.add_class::<ConsentShape>()?;
    m.add_class::<Entries>()?;
    Ok(())
}
