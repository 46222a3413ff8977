//! `Words`: the short strings many stored values share, each kept once under a
//! one-byte code.
//!
//! A packed profile (`profile::pack`) refers to its jurisdiction and its
//! verification method by code instead of spelling them out: ten million
//! subjects share a handful of each. Every code counts the stored values that use
//! it; a word no value uses any more is forgotten and its code reused, so nothing
//! of a deleted subject stays behind here either. At most 256 words at a time: a
//! value whose word finds no free code is simply stored unpacked.

use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Words {
    /// By code: the word and how many stored values use it (None: free).
    words: Vec<Option<(Box<[u8]>, u32)>>,
    codes: HashMap<Box<[u8]>, u8>,
    free: Vec<u8>,
}

impl Words {
    /// The code of `word`, counting one more use; None when all 256 codes are taken.
    pub fn take(&mut self, word: &[u8]) -> Option<u8> {
        if let Some(&code) = self.codes.get(word) {
            if let Some((_, uses)) = &mut self.words[code as usize] {
                *uses += 1;
            }
            return Some(code);
        }
        let code = match self.free.pop() {
            Some(code) => code,
            None => {
                let code = u8::try_from(self.words.len()).ok()?;
                self.words.push(None);
                code
            }
        };
        self.words[code as usize] = Some((word.into(), 1));
        self.codes.insert(word.into(), code);
        Some(code)
    }

    /// The word under `code`, if one is.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.words.get(code as usize)?.as_ref().map(|(w, _)| &w[..])
    }

    /// One use of `code` fewer; the word is forgotten at none.
    pub fn release(&mut self, code: u8) {
        let Some(slot) = self.words.get_mut(code as usize) else {
            return;
        };
        if let Some((word, uses)) = slot {
            *uses -= 1;
            if *uses == 0 {
                self.codes.remove(&word[..]);
                *slot = None;
                self.free.push(code);
            }
        }
    }

    /// Words kept now.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_kept_once_while_it_is_used() {
        let mut w = Words::default();
        let cn = w.take(b"CN").unwrap();
        assert_eq!(w.take(b"CN"), Some(cn));
        let us = w.take(b"US").unwrap();
        assert_ne!(cn, us);
        assert_eq!((w.get(cn), w.len()), (Some(&b"CN"[..]), 2));
        w.release(cn);
        assert_eq!(w.get(cn), Some(&b"CN"[..])); // one use left
        w.release(cn);
        assert_eq!((w.get(cn), w.len()), (None, 1)); // forgotten
        assert_eq!(w.take(b"DE"), Some(cn)); // its code reused
    }

    #[test]
    fn at_most_256_words_at_a_time() {
        let mut w = Words::default();
        for k in 0..256u32 {
            assert!(w.take(&k.to_le_bytes()).is_some());
        }
        assert_eq!(w.take(b"one more"), None);
        w.release(7);
        assert_eq!(w.take(b"one more"), Some(7));
    }
}
