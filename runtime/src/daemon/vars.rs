//! A request's variables as a daemon received them (the `Request` frame's environ), for
//! the application.

/// The request's variables, copied out of the frame reader in one piece (the reader moves
/// on to the body while the app runs).
pub(super) struct Vars {
    bytes: Vec<u8>,
    /// Key start, value start, value end in `bytes`.
    spans: Vec<(usize, usize, usize)>,
}

impl Vars {
    pub(super) fn new(pairs: &[(&[u8], &[u8])]) -> Vars {
        let size = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
        let mut vars = Vars {
            bytes: Vec::with_capacity(size),
            spans: Vec::with_capacity(pairs.len()),
        };
        for (k, v) in pairs {
            let key = vars.bytes.len();
            vars.bytes.extend_from_slice(k);
            let value = vars.bytes.len();
            vars.bytes.extend_from_slice(v);
            vars.spans.push((key, value, vars.bytes.len()));
        }
        vars
    }

    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], &[u8])> {
        self.spans
            .iter()
            .map(|&(k, v, end)| (&self.bytes[k..v], &self.bytes[v..end]))
    }

    /// The last value given for `key` (later ones override), or empty.
    pub(super) fn get(&self, key: &[u8]) -> &[u8] {
        self.iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, v)| v)
    }
}
