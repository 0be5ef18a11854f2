//! A dense, chunked vector of entries: indices `0..len` are all occupied, removal swaps the
//! last entry in, and storage grows and shrinks by fixed chunks, so at most one chunk (plus
//! one spare) is ever unused — no doubling slack on a million keys.

use std::mem::size_of;

/// Entries per chunk.
const CHUNK: usize = 512;

#[derive(Debug)]
pub(crate) struct Slab<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    /// Appends `value` at index `len()`.
    pub(crate) fn push(&mut self, value: T) -> usize {
        let i = self.len;
        if i / CHUNK == self.chunks.len() {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(chunk) = self.chunks.get_mut(i / CHUNK) {
            chunk.push(value);
            self.len += 1;
        }
        i
    }

    /// Removes the last entry.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let last = self.len.checked_sub(1)?;
        let value = self.chunks.get_mut(last / CHUNK)?.pop()?;
        self.len = last;
        // Keep one empty chunk as a spare, free the rest.
        let needed = self.len.div_ceil(CHUNK) + 1;
        self.chunks.truncate(needed);
        Some(value)
    }

    /// Removes entry `i`, moving the last entry into its place. Returns the removed entry and,
    /// if an entry moved, its old index (`len()` after the call).
    pub(crate) fn swap_remove(&mut self, i: usize) -> Option<(T, Option<usize>)> {
        if i >= self.len {
            return None;
        }
        let last = self.pop()?;
        if i == self.len {
            return Some((last, None));
        }
        let slot = self.get_mut(i)?;
        Some((std::mem::replace(slot, last), Some(self.len)))
    }

    /// Frees the spare chunk and unused chunk slots (after a sweep).
    pub(crate) fn shrink(&mut self) {
        self.chunks.truncate(self.len.div_ceil(CHUNK));
        if self.len == 0 {
            self.chunks = Vec::new();
        } else if self.chunks.capacity() > 2 * self.chunks.len() + 4 {
            self.chunks.shrink_to_fit();
        }
    }

    /// Heap bytes held by the chunks.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.len() * super::entry::alloc_size(CHUNK * size_of::<T>())
            + super::entry::alloc_size(self.chunks.capacity() * size_of::<Vec<T>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_swap_remove_pop() {
        let mut s = Slab::default();
        for i in 0..(CHUNK * 2 + 3) {
            assert_eq!(s.push(i), i);
        }
        assert_eq!(s.len(), CHUNK * 2 + 3);
        assert_eq!(s.get(CHUNK + 1), Some(&(CHUNK + 1)));
        let last = CHUNK * 2 + 2;
        assert_eq!(s.swap_remove(5), Some((5, Some(last))));
        assert_eq!(s.get(5), Some(&last));
        assert_eq!(s.swap_remove(s.len() - 1), Some((last - 1, None)));
        assert_eq!(s.swap_remove(s.len()), None);
        while s.pop().is_some() {}
        assert_eq!(s.len(), 0);
        assert!(s.chunks.len() <= 1, "at most one spare chunk stays");
        assert_eq!(s.get(0), None);
    }

    #[test]
    fn chunks_follow_the_length() {
        let mut s = Slab::default();
        for i in 0..CHUNK * 4 {
            s.push(i);
        }
        assert_eq!(s.chunks.len(), 4);
        for _ in 0..CHUNK * 2 {
            s.pop();
        }
        assert_eq!(s.chunks.len(), 3, "two full chunks and one spare");
        s.shrink();
        assert_eq!(s.chunks.len(), 2);
        while s.pop().is_some() {}
        s.shrink();
        assert_eq!(s.heap_bytes(), 0);
    }
}
