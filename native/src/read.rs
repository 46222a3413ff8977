//! The primitive reads of schemaless Avro, as fastavro's reader does them, with a
//! note of anything that would not encode back to the same bytes.

/// Why a value's bytes are not a valid record; `cause` names the Python exception
/// fastavro would raise, for the error's `cause_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Truncated(Option<&'static str>),
    Mismatch(&'static str),
}

/// A cursor over one value's bytes.
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    /// Set when the bytes decode but are not the canonical encoding.
    pub noncanonical: bool,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            noncanonical: false,
        }
    }

    /// A union branch or enum symbol index; negative ones count from the end (as a
    /// Python list index does) and are not canonical.
    pub fn index(&mut self, len: usize) -> Result<usize, Fault> {
        let i = self.long()? as i128;
        let n = len as i128;
        if i >= n || i < -n {
            return Err(if self.pos >= self.data.len() {
                Fault::Truncated(Some("IndexError"))
            } else {
                Fault::Mismatch("IndexError")
            });
        }
        if i < 0 {
            self.noncanonical = true;
            return Ok((n + i) as usize);
        }
        Ok(i as usize)
    }

    pub fn byte(&mut self) -> Result<u8, Fault> {
        let b = *self.data.get(self.pos).ok_or(Fault::Truncated(None))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Fault> {
        if self.data.len() - self.pos < n {
            self.pos = self.data.len();
            return Err(Fault::Truncated(None));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn sized(&mut self) -> Result<&'a [u8], Fault> {
        let size = self.long()?;
        if size < 0 {
            self.pos = self.data.len();
            return Err(Fault::Truncated(None));
        }
        self.take(usize::try_from(size).unwrap_or(usize::MAX))
    }

    pub fn string(&mut self) -> Result<&'a str, Fault> {
        let raw = self.sized()?;
        std::str::from_utf8(raw).map_err(|_| Fault::Mismatch("UnicodeDecodeError"))
    }

    /// A zig-zag varint, read as fastavro's C reader does (bits past 64 wrap).
    pub fn long(&mut self) -> Result<i64, Fault> {
        let start = self.pos;
        let mut b = self.byte()? as u64;
        let mut n = b & 0x7f;
        let mut shift: u32 = 7;
        while b & 0x80 != 0 {
            b = *self
                .data
                .get(self.pos)
                .ok_or(Fault::Truncated(Some("IndexError")))? as u64;
            self.pos += 1;
            n |= (b & 0x7f).wrapping_shl(shift);
            shift = shift.wrapping_add(7);
        }
        let used = self.pos - start;
        self.noncanonical |= used != varint_len(n) || (used == 10 && b != 1);
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }
}

/// Bytes the canonical varint of `n` takes.
pub fn varint_len(n: u64) -> usize {
    if n == 0 {
        1
    } else {
        (64 - n.leading_zeros() as usize).div_ceil(7)
    }
}
