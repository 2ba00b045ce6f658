//! An intrusive doubly-linked LRU list over dense ids (cluster ids): O(1) insert at the front,
//! move to the front, remove, and pop from the back, with no allocation per operation.

const NIL: u32 = u32::MAX;

/// Ids in recency order, most recent at the front.
#[derive(Debug, Clone, Default)]
pub struct Lru {
    prev: Vec<u32>,
    next: Vec<u32>,
    linked: Vec<bool>,
    head: Option<u32>,
    tail: Option<u32>,
    len: usize,
}

impl Lru {
    fn grow(&mut self, id: u32) {
        let n = id as usize + 1;
        if self.prev.len() < n {
            self.prev.resize(n, NIL);
            self.next.resize(n, NIL);
            self.linked.resize(n, false);
        }
    }

    /// Ids in the list.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `id` is in the list.
    pub fn contains(&self, id: u32) -> bool {
        self.linked.get(id as usize).copied().unwrap_or(false)
    }

    /// Remove `id` if present.
    pub fn remove(&mut self, id: u32) {
        if !self.contains(id) {
            return;
        }
        let (p, n) = (self.prev[id as usize], self.next[id as usize]);
        if p == NIL {
            self.head = (n != NIL).then_some(n);
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail = (p != NIL).then_some(p);
        } else {
            self.prev[n as usize] = p;
        }
        self.linked[id as usize] = false;
        self.len -= 1;
    }

    /// Put `id` at the front (most recent), moving it if present.
    pub fn push_front(&mut self, id: u32) {
        self.remove(id);
        self.grow(id);
        let i = id as usize;
        self.prev[i] = NIL;
        self.next[i] = self.head.unwrap_or(NIL);
        if let Some(h) = self.head {
            self.prev[h as usize] = id;
        }
        self.head = Some(id);
        if self.tail.is_none() {
            self.tail = Some(id);
        }
        self.linked[i] = true;
        self.len += 1;
    }

    /// Remove and return the least recent id.
    pub fn pop_back(&mut self) -> Option<u32> {
        let t = self.tail?;
        self.remove(t);
        Some(t)
    }

    /// Ids from most to least recent.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(self.head, |&i| {
            let n = self.next[i as usize];
            (n != NIL).then_some(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_moves() {
        let mut l = Lru::default();
        for i in [3u32, 1, 4, 1, 5] {
            l.push_front(i);
        }
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![5, 1, 4, 3]);
        l.remove(4);
        assert_eq!(l.pop_back(), Some(3));
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![5, 1]);
        assert_eq!((l.len(), l.contains(1), l.contains(3)), (2, true, false));
        assert_eq!(
            (l.pop_back(), l.pop_back(), l.pop_back()),
            (Some(1), Some(5), None)
        );
        assert!(l.is_empty());
    }
}
