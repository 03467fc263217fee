//! Named shared values: i32, i64, u32, u64, bool, f64 in one atomic word.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::segment::{Kind, PayloadSize, Segment};

mod private {
    pub trait Sealed {}
}

/// A type a [`SharedValue`] can hold. Each has the seed's typecode.
pub trait ValueType: private::Sealed + Copy + Send + Sync + 'static {
    /// The seed's typecode: `i`, `l`, `I`, `L`, `b`, `d`.
    const TYPECODE: char;
    /// The Rust name, for error messages.
    const NAME: &'static str;
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
    ($t:ty, $code:literal, $to:expr, $from:expr) => {
        impl private::Sealed for $t {}
        impl ValueType for $t {
            const TYPECODE: char = $code;
            const NAME: &'static str = stringify!($t);
            fn to_bits(self) -> u64 {
                $to(self)
            }
            fn from_bits(bits: u64) -> Self {
                $from(bits)
            }
        }
    };
}

value_type!(i32, 'i', |v: i32| v as u32 as u64, |b: u64| b as u32 as i32);
value_type!(i64, 'l', |v: i64| v as u64, |b: u64| b as i64);
value_type!(u32, 'I', |v: u32| v as u64, |b: u64| b as u32);
value_type!(u64, 'L', |v: u64| v, |b: u64| b);
value_type!(bool, 'b', |v: bool| v as u64, |b: u64| b != 0);
value_type!(f64, 'd', f64::to_bits, f64::from_bits);

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

/// The Rust type for a seed typecode, for error messages and dynamic use.
pub fn type_name_of_typecode(code: char) -> Option<&'static str> {
    Some(match code {
        'i' => "i32",
        'l' => "i64",
        'I' => "u32",
        'L' => "u64",
        'b' => "bool",
        'd' => "f64",
        _ => return None,
    })
}

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
        let segment = Segment::create(id, Kind::Value, T::TYPECODE as u32, 8, |payload| {
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

    /// Opens an existing value; [`Error::WrongValueType`] if it holds another type.
    pub fn open(id: &ObjectId) -> Result<Self> {
        let segment = Segment::open(id, Kind::Value, PayloadSize::Exactly(8))?;
        if segment.tag() != T::TYPECODE as u32 {
            let found = char::from_u32(segment.tag())
                .and_then(type_name_of_typecode)
                .unwrap_or("an unknown type");
            return Err(Error::WrongValueType { id: id.to_string(), expected: T::NAME, found });
        }
        Ok(SharedValue { segment, _type: PhantomData })
    }

    /// The typecode of the value stored under `id`, without knowing it in advance.
    pub fn typecode_of(id: &ObjectId) -> Result<char> {
        let segment = Segment::open(id, Kind::Value, PayloadSize::Exactly(8))?;
        char::from_u32(segment.tag()).filter(|c| type_name_of_typecode(*c).is_some()).ok_or_else(
            || Error::Corrupt {
                id: id.to_string(),
                reason: format!("unknown value type tag {}", segment.tag()),
            },
        )
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
        assert_eq!(type_name_of_typecode('d'), Some("f64"));
        assert_eq!(type_name_of_typecode('x'), None);
    }
}
