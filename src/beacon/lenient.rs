//! Lenient scalars for parsing bodies of three runner generations: a field that is `null`,
//! `""`, missing or of an unexpected type is "absent", never a reason to reject the row.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A string that may arrive as a string, number, bool or null.
#[derive(Debug, Default)]
pub struct LStr(pub Option<super::execution::Str>);

/// An integer that may arrive as a number or a numeric string.
#[derive(Debug, Default)]
pub struct LInt(pub Option<i64>);

/// A float (router timestamps are float seconds; some are ints).
#[derive(Debug, Default)]
pub struct LFloat(pub Option<f64>);

/// A bool that may be null.
#[derive(Debug, Default)]
pub struct LBool(pub Option<bool>);

macro_rules! lenient_visitor {
    ($ty:ident, $name:expr, |$v:ident| { str => $s:expr, i64 => $i:expr, u64 => $u:expr, f64 => $f:expr, bool => $b:expr }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($name)
                    }
                    fn visit_str<E: de::Error>(self, $v: &str) -> Result<$ty, E> {
                        Ok($ty($s))
                    }
                    fn visit_i64<E: de::Error>(self, $v: i64) -> Result<$ty, E> {
                        Ok($ty($i))
                    }
                    fn visit_u64<E: de::Error>(self, $v: u64) -> Result<$ty, E> {
                        Ok($ty($u))
                    }
                    fn visit_f64<E: de::Error>(self, $v: f64) -> Result<$ty, E> {
                        Ok($ty($f))
                    }
                    fn visit_bool<E: de::Error>(self, $v: bool) -> Result<$ty, E> {
                        Ok($ty($b))
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<$ty, E> {
                        Ok($ty(None))
                    }
                    fn visit_none<E: de::Error>(self) -> Result<$ty, E> {
                        Ok($ty(None))
                    }
                    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<$ty, D2::Error> {
                        d.deserialize_any(V)
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<$ty, A::Error> {
                        while a.next_element::<IgnoredAny>()?.is_some() {}
                        Ok($ty(None))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<$ty, A::Error> {
                        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok($ty(None))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

lenient_visitor!(LStr, "a string", |v| {
    str => if v.is_empty() { None } else { Some(v.into()) },
    i64 => Some(compact_str::format_compact!("{v}")),
    u64 => Some(compact_str::format_compact!("{v}")),
    f64 => Some(compact_str::format_compact!("{v}")),
    bool => Some(compact_str::format_compact!("{v}"))
});

lenient_visitor!(LInt, "an integer", |v| {
    str => v.trim().parse().ok(),
    i64 => Some(v),
    u64 => i64::try_from(v).ok(),
    f64 => if v.fract() == 0.0 && v.abs() < 9e15 { Some(v as i64) } else { None },
    bool => { let _ = v; None }
});

lenient_visitor!(LFloat, "a number", |v| {
    str => v.trim().parse().ok(),
    i64 => Some(v as f64),
    u64 => Some(v as f64),
    f64 => Some(v),
    bool => { let _ = v; None }
});

lenient_visitor!(LBool, "a bool", |v| {
    str => match v { "true" => Some(true), "false" => Some(false), _ => None },
    i64 => Some(v != 0),
    u64 => Some(v != 0),
    f64 => { let _ = v; None },
    bool => Some(v)
});
