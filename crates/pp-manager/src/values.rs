//! `AnyValue`: a shared value of whichever type its typecode says, and the
//! checks that a scalar fits that type.

use pp_ipc::{ObjectId, SharedValue, ValueKind};

use crate::error::{ManagerError, Result, shorten};
use crate::records::Scalar;
use crate::typecode;

/// A shared value of whichever type its kind says.
#[derive(Debug)]
pub(crate) enum AnyValue {
    I32(SharedValue<i32>),
    I64(SharedValue<i64>),
    U32(SharedValue<u32>),
    U64(SharedValue<u64>),
    Bool(SharedValue<bool>),
    F64(SharedValue<f64>),
}

/// Applies `$body` to the typed value inside an `AnyValue`.
macro_rules! with_value {
    ($value:expr, $v:ident => $body:expr) => {
        match $value {
            AnyValue::I32($v) => $body,
            AnyValue::I64($v) => $body,
            AnyValue::U32($v) => $body,
            AnyValue::U64($v) => $body,
            AnyValue::Bool($v) => $body,
            AnyValue::F64($v) => $body,
        }
    };
}

impl AnyValue {
    pub(crate) fn create(id: ObjectId, typecode: &str, initial: Scalar) -> Result<AnyValue> {
        let id_text = shorten(id.as_str());
        let misfit = |holds: &'static str| ManagerError::ValueDoesNotFit {
            id: id_text.clone(),
            holds,
            value: initial.to_string(),
        };
        let kind = typecode::kind_of(typecode)
            .ok_or_else(|| ManagerError::InvalidTypecode { typecode: shorten(typecode) })?;
        Ok(match kind {
            ValueKind::I32 => AnyValue::I32(SharedValue::create_with_id(
                id,
                fit_i32(initial).ok_or_else(|| misfit("i32"))?,
            )?),
            ValueKind::I64 => AnyValue::I64(SharedValue::create_with_id(
                id,
                initial.as_i64().ok_or_else(|| misfit("i64"))?,
            )?),
            ValueKind::U32 => AnyValue::U32(SharedValue::create_with_id(
                id,
                fit_u32(initial).ok_or_else(|| misfit("u32"))?,
            )?),
            ValueKind::U64 => AnyValue::U64(SharedValue::create_with_id(
                id,
                fit_u64(initial).ok_or_else(|| misfit("u64"))?,
            )?),
            ValueKind::Bool => AnyValue::Bool(SharedValue::create_with_id(
                id,
                fit_bool(initial).ok_or_else(|| misfit("bool"))?,
            )?),
            ValueKind::F64 => AnyValue::F64(SharedValue::create_with_id(
                id,
                initial.as_f64().ok_or_else(|| misfit("f64"))?,
            )?),
            _ => return Err(ManagerError::InvalidTypecode { typecode: shorten(typecode) }),
        })
    }

    pub(crate) fn open(id: &ObjectId) -> Result<AnyValue> {
        Ok(match ValueKind::of(id)? {
            ValueKind::I32 => AnyValue::I32(SharedValue::open(id)?),
            ValueKind::I64 => AnyValue::I64(SharedValue::open(id)?),
            ValueKind::U32 => AnyValue::U32(SharedValue::open(id)?),
            ValueKind::U64 => AnyValue::U64(SharedValue::open(id)?),
            ValueKind::Bool => AnyValue::Bool(SharedValue::open(id)?),
            ValueKind::F64 => AnyValue::F64(SharedValue::open(id)?),
            other => {
                return Err(pp_ipc::Error::WrongValueType {
                    id: id.to_string(),
                    expected: "a type with a typecode",
                    found: other.name(),
                }
                .into());
            }
        })
    }

    pub(crate) fn get(&self) -> Scalar {
        with_value!(self, v => Scalar::from(v.get()))
    }

    pub(crate) fn set(&self, id: &str, value: Scalar) -> Result<()> {
        let misfit = |holds: &'static str| ManagerError::ValueDoesNotFit {
            id: shorten(id),
            holds,
            value: value.to_string(),
        };
        match self {
            AnyValue::I32(v) => v.set(fit_i32(value).ok_or_else(|| misfit("i32"))?),
            AnyValue::I64(v) => v.set(value.as_i64().ok_or_else(|| misfit("i64"))?),
            AnyValue::U32(v) => v.set(fit_u32(value).ok_or_else(|| misfit("u32"))?),
            AnyValue::U64(v) => v.set(fit_u64(value).ok_or_else(|| misfit("u64"))?),
            AnyValue::Bool(v) => v.set(fit_bool(value).ok_or_else(|| misfit("bool"))?),
            AnyValue::F64(v) => v.set(value.as_f64().ok_or_else(|| misfit("f64"))?),
        }
        Ok(())
    }

    pub(crate) fn delete(self) -> Result<()> {
        with_value!(self, v => v.delete())?;
        Ok(())
    }
}

fn fit_i32(v: Scalar) -> Option<i32> {
    v.as_i64().and_then(|v| i32::try_from(v).ok())
}
fn fit_u32(v: Scalar) -> Option<u32> {
    fit_u64(v).and_then(|v| u32::try_from(v).ok())
}
fn fit_u64(v: Scalar) -> Option<u64> {
    match v {
        Scalar::UInt(v) => Some(v),
        Scalar::Int(v) => u64::try_from(v).ok(),
        _ => None,
    }
}
fn fit_bool(v: Scalar) -> Option<bool> {
    match v {
        Scalar::Bool(b) => Some(b),
        Scalar::Int(0) | Scalar::UInt(0) => Some(false),
        Scalar::Int(1) | Scalar::UInt(1) => Some(true),
        _ => None,
    }
}
