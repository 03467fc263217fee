//! Shared values by id, of the seed's typecodes.

use std::sync::Arc;

use pp_ipc::{ObjectId, ValueType};

use super::ProcessManager;
use crate::error::{ManagerError, Result, shorten};
use crate::ids::ValueId;
use crate::records::Scalar;
use crate::typecode;
use crate::values::AnyValue;

impl ProcessManager {
    /// Creates a shared value of the seed's `typecode` (`i`, `l`, `I`, `L`,
    /// `b`, `d`) holding `initial`.
    pub fn create_shared_value(
        &self,
        typecode: &str,
        initial: impl Into<Scalar>,
    ) -> Result<ValueId> {
        let id = ObjectId::generate("value")?;
        self.create_shared_value_with_id(id.into(), typecode, initial)
    }

    /// [`create_shared_value`](Self::create_shared_value) with the caller's id.
    pub fn create_shared_value_with_id(
        &self,
        id: ValueId,
        typecode: &str,
        initial: impl Into<Scalar>,
    ) -> Result<ValueId> {
        let value = AnyValue::create(id.object_id().clone(), typecode, initial.into())?;
        self.values.register(&id, value);
        Ok(id)
    }

    /// Creates a shared value of Rust type `T`.
    pub fn create_shared_value_typed<T: ValueType>(&self, initial: T) -> Result<ValueId>
    where
        Scalar: From<T>,
    {
        let typecode = typecode::typecode_of(T::KIND)
            .ok_or_else(|| ManagerError::InvalidTypecode { typecode: T::KIND.to_string() })?;
        self.create_shared_value(typecode, initial)
    }

    fn value(&self, id: &ValueId) -> Result<Arc<AnyValue>> {
        self.values.resolve(id, || {
            AnyValue::open(id.object_id()).map_err(|e| match e {
                ManagerError::Ipc(pp_ipc::Error::NotFound { .. }) => {
                    ManagerError::not_found(ValueId::KIND, id.as_str())
                }
                other => other,
            })
        })
    }

    /// The value of shared value `id`.
    pub fn get_shared_value(&self, id: &ValueId) -> Result<Scalar> {
        Ok(self.value(id)?.get())
    }

    /// Sets shared value `id`; a value its type cannot hold is refused.
    pub fn set_shared_value(&self, id: &ValueId, value: impl Into<Scalar>) -> Result<()> {
        self.value(id)?.set(id.as_str(), value.into())
    }

    /// Atomically adds `delta` to integer shared value `id`; returns the previous value.
    pub fn add_shared_value(&self, id: &ValueId, delta: i64) -> Result<Scalar> {
        let value = self.value(id)?;
        let misfit = |holds| ManagerError::ValueDoesNotFit {
            id: shorten(id.as_str()),
            holds,
            value: delta.to_string(),
        };
        Ok(match &*value {
            AnyValue::I32(v) => {
                Scalar::from(v.fetch_add(i32::try_from(delta).map_err(|_| misfit("i32"))?))
            }
            AnyValue::I64(v) => Scalar::from(v.fetch_add(delta)),
            AnyValue::U32(v) => Scalar::from(v.fetch_add(delta as u32)),
            AnyValue::U64(v) => Scalar::from(v.fetch_add(delta as u64)),
            AnyValue::Bool(_) => return Err(misfit("bool")),
            AnyValue::F64(_) => return Err(misfit("f64")),
        })
    }

    /// Deletes shared value `id` (its name, for every process).
    pub fn delete_shared_value(&self, id: &ValueId) -> Result<()> {
        let value = self.value(id)?;
        self.values.delete(id, value, AnyValue::delete)
    }
}
