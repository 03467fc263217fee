//! Named shared values: i32, i64, u32, u64, bool, f64 in one atomic word.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};

mod private {
    pub trait Sealed {}
}

/// The type a [`SharedValue`] holds, recorded in its shared memory so that
/// `open` can refuse another type and [`ValueKind::of`] can tell it.
///
/// Each kind is stored as a fixed number ([`ValueKind::of`] reads it back);
/// the numbers never change meaning between versions of pp-ipc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `bool`.
    Bool,
    /// `f64`.
    F64,
}

impl ValueKind {
    /// Every kind, in the order of their stored numbers.
    pub const ALL: [ValueKind; 6] = [
        ValueKind::I32,
        ValueKind::I64,
        ValueKind::U32,
        ValueKind::U64,
        ValueKind::Bool,
        ValueKind::F64,
    ];

    /// The Rust type's name: `"i32"`, `"f64"`, ….
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::I32 => "i32",
            ValueKind::I64 => "i64",
            ValueKind::U32 => "u32",
            ValueKind::U64 => "u64",
            ValueKind::Bool => "bool",
            ValueKind::F64 => "f64",
        }
    }

    /// The kind of the shared value `id` holds, for code that meets values
    /// by id without knowing their type. [`Error::Corrupt`] if the number
    /// stored in its header is no kind's (someone wrote into it).
    pub fn of(id: &ObjectId) -> Result<ValueKind> {
        let segment = Segment::open(id, Kind::Value, PayloadSize::Exactly(8))?;
        ValueKind::stored_in(&segment)
    }

    /// The number stored in the header: stable, never reused.
    fn tag(self) -> u32 {
        match self {
            ValueKind::I32 => 1,
            ValueKind::I64 => 2,
            ValueKind::U32 => 3,
            ValueKind::U64 => 4,
            ValueKind::Bool => 5,
            ValueKind::F64 => 6,
        }
    }

    fn from_tag(tag: u32) -> Option<ValueKind> {
        ValueKind::ALL.into_iter().find(|kind| kind.tag() == tag)
    }

    /// The kind recorded in `segment`'s header, checked.
    fn stored_in(segment: &Segment) -> Result<ValueKind> {
        ValueKind::from_tag(segment.tag()).ok_or_else(|| Error::Corrupt {
            id: segment.id().to_string(),
            reason: format!(
                "value type tag {} is none of pp-ipc's (1 to {})",
                segment.tag(),
                ValueKind::ALL.len()
            ),
        })
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A type a [`SharedValue`] can hold: `i32`, `i64`, `u32`, `u64`, `bool`, `f64`.
pub trait ValueType: private::Sealed + Copy + Send + Sync + 'static {
    /// Its [`ValueKind`], recorded in the value's shared memory.
    const KIND: ValueKind;
    #[doc(hidden)]
    fn to_bits(self) -> u64;
    #[doc(hidden)]
    fn from_bits(bits: u64) -> Self;
}

/// An integer [`ValueType`]: supports atomic `fetch_add` and `compare_exchange`.
pub trait IntegerType: ValueType {
    #[doc(hidden)]
    fn wrapping_add(self, other: Self) -> Self;
}

macro_rules! value_type {
    ($t:ty, $kind:ident, $to:expr, $from:expr) => {
        impl private::Sealed for $t {}
        impl ValueType for $t {
            const KIND: ValueKind = ValueKind::$kind;
            fn to_bits(self) -> u64 {
                $to(self)
            }
            fn from_bits(bits: u64) -> Self {
                $from(bits)
            }
        }
    };
}

value_type!(i32, I32, |v: i32| v as u32 as u64, |b: u64| b as u32 as i32);
value_type!(i64, I64, |v: i64| v as u64, |b: u64| b as i64);
value_type!(u32, U32, |v: u32| v as u64, |b: u64| b as u32);
value_type!(u64, U64, |v: u64| v, |b: u64| b);
value_type!(bool, Bool, |v: bool| v as u64, |b: u64| b != 0);
value_type!(f64, F64, f64::to_bits, f64::from_bits);

macro_rules! integer_type {
    ($($t:ty),*) => {$(
        impl IntegerType for $t {
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
        }
    )*};
}
integer_type!(i32, i64, u32, u64);

/// A value of type `T` in shared memory, readable and writable from any process.
#[derive(Debug)]
pub struct SharedValue<T: ValueType> {
    segment: Segment,
    _type: PhantomData<T>,
}

impl<T: ValueType> SharedValue<T> {
    /// Creates a value with a generated id.
    pub fn create(initial: T) -> Result<Self> {
        Self::create_with_id(ObjectId::generate("value")?, initial)
    }

    /// Creates a value with the caller's id; fails if the id exists.
    pub fn create_with_id(id: ObjectId, initial: T) -> Result<Self> {
        let segment = Segment::create(id, Kind::Value, T::KIND.tag(), 8, |payload| {
            // SAFETY: fresh, 64-byte aligned, 8-byte payload not yet shared.
            unsafe { payload.cast::<u64>().as_ptr().write(initial.to_bits()) };
            Ok(())
        })?;
        Ok(SharedValue { segment, _type: PhantomData })
    }

    /// Opens the value `id`, creating it holding `initial` if nobody has (an
    /// existing one keeps its value; see
    /// [`Queue::open_or_create`](crate::Queue::open_or_create) for who owns the name).
    pub fn open_or_create(id: &ObjectId, initial: T) -> Result<Self> {
        crate::segment::open_or_create(
            || Self::create_with_id(id.clone(), initial),
            || Self::open(id),
        )
    }

    /// Opens an existing value; [`Error::WrongValueType`] if it holds another
    /// type, [`Error::Corrupt`] if its recorded type is none of pp-ipc's.
    pub fn open(id: &ObjectId) -> Result<Self> {
        let segment = Segment::open(id, Kind::Value, PayloadSize::Exactly(8))?;
        let found = ValueKind::stored_in(&segment)?;
        if found != T::KIND {
            return Err(Error::WrongValueType {
                id: id.to_string(),
                expected: T::KIND.name(),
                found: found.name(),
            });
        }
        Ok(SharedValue { segment, _type: PhantomData })
    }

    /// The value's id.
    pub fn id(&self) -> &ObjectId {
        self.segment.id()
    }

    fn word(&self) -> &AtomicU64 {
        self.segment.atomic_u64(0)
    }

    /// Reads the value.
    pub fn get(&self) -> T {
        T::from_bits(self.word().load(Ordering::Acquire))
    }

    /// Writes the value.
    pub fn set(&self, value: T) {
        self.word().store(value.to_bits(), Ordering::Release);
    }

    /// Removes the value's name now; open handles keep working.
    pub fn delete(mut self) -> Result<()> {
        self.segment.unlink()
    }
}

impl<T: IntegerType> SharedValue<T> {
    /// Adds `delta` atomically (wrapping at `T`'s width); returns the previous value.
    pub fn fetch_add(&self, delta: T) -> T {
        let mut current = self.word().load(Ordering::Acquire);
        loop {
            let next = T::from_bits(current).wrapping_add(delta).to_bits();
            match self.word().compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(previous) => return T::from_bits(previous),
                Err(now) => current = now,
            }
        }
    }

    /// Stores `new` if the value is `current`; returns the previous value either way
    /// (`Ok` if it was swapped).
    pub fn compare_exchange(&self, current: T, new: T) -> std::result::Result<T, T> {
        self.word()
            .compare_exchange(current.to_bits(), new.to_bits(), Ordering::AcqRel, Ordering::Acquire)
            .map(T::from_bits)
            .map_err(T::from_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_for_every_type() {
        assert_eq!(i32::from_bits((-5i32).to_bits()), -5);
        assert_eq!(i64::from_bits(i64::MIN.to_bits()), i64::MIN);
        assert_eq!(f64::from_bits(3.25f64.to_bits()), 3.25);
        assert!(bool::from_bits(true.to_bits()));
    }

    #[test]
    fn every_kind_has_its_own_stored_number() {
        for kind in ValueKind::ALL {
            assert_eq!(ValueKind::from_tag(kind.tag()), Some(kind), "{kind}");
        }
        assert_eq!(ValueKind::from_tag(0), None);
        assert_eq!(ValueKind::from_tag(7), None);
        assert_eq!(ValueKind::from_tag('d' as u32), None, "layout 1's tags are no kinds");
        assert_eq!(<f64 as ValueType>::KIND.name(), "f64");
    }
}
