//! A job's rows at one snapshot: executions in id order, in one vector (built in place by
//! `Reader::execs_at`, looked up by binary search), with the read side of a map's interface.

use crate::beacon::Execution;

/// Executions by id, in id order, each id once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows(Vec<(i64, Execution)>);

impl Rows {
    /// From pairs in strictly increasing id order (the store's order); anything else is sorted
    /// and deduplicated, the last of an id kept, so a damaged source cannot break lookups.
    pub fn from_sorted(mut v: Vec<(i64, Execution)>) -> Self {
        if !v.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: equal ids keep their order, and the last one wins below.
            v.sort_by_key(|(id, _)| *id);
            let mut out: Vec<(i64, Execution)> = Vec::with_capacity(v.len());
            for (id, e) in v {
                match out.last_mut() {
                    Some(last) if last.0 == id => *last = (id, e),
                    _ => out.push((id, e)),
                }
            }
            v = out;
        }
        Rows(v)
    }

    pub fn get(&self, id: &i64) -> Option<&Execution> {
        self.0
            .binary_search_by_key(id, |(k, _)| *k)
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, id: &i64) -> bool {
        self.get(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &i64> + ExactSizeIterator + '_ {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Execution> + ExactSizeIterator + '_ {
        self.0.iter().map(|(_, e)| e)
    }

    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&i64, &Execution)> + ExactSizeIterator + '_ {
        self.0.iter().map(|(k, e)| (k, e))
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = (&'a i64, &'a Execution);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (i64, Execution)>,
        fn(&'a (i64, Execution)) -> (&'a i64, &'a Execution),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, e)| (k, e))
    }
}

impl std::ops::Index<&i64> for Rows {
    type Output = Execution;
    /// Panics when `id` is absent, as a map's index does.
    fn index(&self, id: &i64) -> &Execution {
        self.get(id).expect("no row with this id")
    }
}

impl FromIterator<(i64, Execution)> for Rows {
    fn from_iter<I: IntoIterator<Item = (i64, Execution)>>(it: I) -> Self {
        Rows::from_sorted(it.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: i64, status: &str) -> (i64, Execution) {
        (
            id,
            Execution {
                id,
                status: status.into(),
                ..Default::default()
            },
        )
    }

    #[test]
    fn lookups_find_every_id_and_only_those() {
        let r = Rows::from_sorted(vec![e(-5, "a"), e(1, "b"), e(7, "c")]);
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(&1).unwrap().status, "b");
        assert_eq!(r.get(&-5).unwrap().status, "a");
        assert!(r.get(&2).is_none() && !r.contains_key(&8));
        assert_eq!(r.keys().copied().collect::<Vec<_>>(), [-5, 1, 7]);
    }

    #[test]
    fn out_of_order_input_is_sorted_and_the_last_of_an_id_kept() {
        let r = Rows::from_sorted(vec![e(3, "x"), e(1, "a"), e(3, "y"), e(2, "b")]);
        assert_eq!(r.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(r.get(&3).unwrap().status, "y");
    }
}
