//! Tasks as plain data: a [`TaskFn`] (a function of this program as two
//! offsets) and an encoded argument, whose result stays encoded. This is how
//! a task crosses more than one hop (pp-remote sends it to another machine
//! running the same executable, which runs it in its own process pool).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::remote::RemoteFn;

/// A task function of this program, as data that means the same function in
/// any process running the same executable (the same file content).
///
/// Deliberately not `Deserialize`: a `TaskFn` made from received bytes is
/// [`TaskFn::from_offsets`], whose caller vouches for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskFn(pub(crate) RemoteFn);

impl TaskFn {
    /// `f`, as data. Its argument and result travel encoded with
    /// [`encode`] and [`decode`].
    pub fn of<A, R>(f: fn(A) -> R) -> TaskFn
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        TaskFn(RemoteFn::new(f))
    }

    /// The two offsets this function is made of (to sign or hash them).
    pub fn offsets(&self) -> [i64; 2] {
        [self.0.trampoline, self.0.func]
    }

    /// The function whose [`offsets`](Self::offsets) these were.
    ///
    /// # Safety
    /// `offsets` must be the offsets of a [`TaskFn::of`] made in a process
    /// running this same executable (the same file content). A worker calls
    /// them: any other pair may call a function with the wrong argument
    /// type. pp-pool still refuses a pair outside this program's code, but
    /// cannot tell two functions of this program apart.
    pub unsafe fn from_offsets(offsets: [i64; 2]) -> TaskFn {
        TaskFn(RemoteFn { trampoline: offsets[0], func: offsets[1] })
    }
}

/// `value` in the encoding of task arguments and results.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(value).map_err(|e| e.to_string())
}

/// A task argument or result from its encoding.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}
