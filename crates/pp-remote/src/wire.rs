//! What travels through the server: a signed [`TaskMessage`] on the task
//! stream, and a task's [`Outcome`] in the results bucket. Everything read
//! back is untrusted (anyone who may publish on the server could have
//! written it): a task runs only if its tag verifies, and an outcome that
//! does not decode is [`RemoteError::CorruptOutcome`].

use serde::{Deserialize, Serialize};

use pp_pool::TaskStatus;

use crate::error::RemoteError;
use crate::key::Key;

/// The largest task message or outcome accepted (the server's default
/// maximum payload is 1 MiB; this only bounds what we decode).
pub(crate) const MAX_MESSAGE: usize = 64 << 20;

/// A task as published.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TaskMessage {
    pub(crate) body: TaskBody,
    /// HMAC-SHA256 of the encoded body under the pool's key.
    pub(crate) tag: Vec<u8>,
}

/// What the tag covers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TaskBody {
    pub(crate) id: String,
    /// The program the function belongs to (also in the subject).
    pub(crate) program: String,
    /// `pp_pool::TaskFn::offsets` of the function.
    pub(crate) function: [i64; 2],
    pub(crate) arg: Vec<u8>,
    pub(crate) timeout_ms: Option<u64>,
}

impl TaskMessage {
    /// `body`, signed with `key`, encoded.
    pub(crate) fn seal(body: TaskBody, key: &Key) -> Result<Vec<u8>, RemoteError> {
        let encoded = pp_pool::encode(&body).map_err(|reason| RemoteError::Encode { reason })?;
        let tag = key.sign(&encoded).to_vec();
        pp_pool::encode(&TaskMessage { body, tag }).map_err(|reason| RemoteError::Encode { reason })
    }

    /// The body of a received message, if it decodes, its tag verifies under
    /// `key` and it names `program`; otherwise why not (with the id it
    /// claims, if it decodes that far).
    pub(crate) fn open(bytes: &[u8], key: &Key, program: &str) -> Result<TaskBody, Refusal> {
        let refuse =
            |id: Option<&str>, reason: String| Refusal { id: id.map(str::to_owned), reason };
        if bytes.len() > MAX_MESSAGE {
            return Err(refuse(None, format!("a message of {} bytes", bytes.len())));
        }
        let message: TaskMessage = pp_pool::decode(bytes).map_err(|e| refuse(None, e))?;
        let id = Some(message.body.id.as_str());
        let encoded = pp_pool::encode(&message.body).map_err(|e| refuse(id, e))?;
        if !key.verify(&encoded, &message.tag) {
            return Err(refuse(id, "the task is not signed with the workers' key".into()));
        }
        if message.body.program != program {
            let reason = format!("the task is for program {}, not {program}", message.body.program);
            return Err(refuse(id, reason));
        }
        Ok(message.body)
    }
}

/// Why a worker refused a message.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The task id it claims, if it decodes.
    pub(crate) id: Option<String>,
    pub(crate) reason: String,
}

/// How a task ended, as stored in the results bucket.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// The encoded value.
    Completed(Vec<u8>),
    /// It panicked or could not (de)serialize.
    Failed(String),
    Cancelled,
    TimedOut(String),
    WorkerDied(String),
}

impl Outcome {
    pub(crate) fn status(&self) -> TaskStatus {
        match self {
            Outcome::Completed(_) => TaskStatus::Completed,
            Outcome::Failed(_) => TaskStatus::Failed,
            Outcome::Cancelled => TaskStatus::Cancelled,
            Outcome::TimedOut(_) => TaskStatus::TimedOut,
            Outcome::WorkerDied(_) => TaskStatus::WorkerDied,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Only byte vectors and strings: encoding cannot fail.
        pp_pool::encode(self).unwrap_or_default()
    }

    pub(crate) fn decode(id: &str, bytes: &[u8]) -> Result<Outcome, RemoteError> {
        let corrupt = |reason: String| RemoteError::CorruptOutcome { id: id.to_owned(), reason };
        if bytes.len() > MAX_MESSAGE {
            return Err(corrupt(format!("{} bytes", bytes.len())));
        }
        pp_pool::decode(bytes).map_err(corrupt)
    }

    /// The value of type `R`, or the error this outcome is.
    pub(crate) fn into_result<R: serde::de::DeserializeOwned>(
        self,
        id: &str,
    ) -> Result<R, RemoteError> {
        let failed = |status, message: String| RemoteError::TaskFailed {
            id: id.to_owned(),
            status,
            message,
        };
        match self {
            Outcome::Completed(bytes) => {
                pp_pool::decode(&bytes).map_err(|reason| RemoteError::WrongResultType {
                    id: id.to_owned(),
                    expected: std::any::type_name::<R>(),
                    reason,
                })
            }
            Outcome::Failed(message) => Err(failed(TaskStatus::Failed, message)),
            Outcome::Cancelled => Err(failed(TaskStatus::Cancelled, "cancelled".into())),
            Outcome::TimedOut(message) => Err(failed(TaskStatus::TimedOut, message)),
            Outcome::WorkerDied(message) => Err(failed(TaskStatus::WorkerDied, message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(program: &str) -> TaskBody {
        TaskBody {
            id: "t".into(),
            program: program.into(),
            function: [1, 2],
            arg: vec![3],
            timeout_ms: None,
        }
    }

    #[test]
    fn a_message_opens_only_with_its_key_for_its_program_and_unaltered() {
        let key = Key::generate().unwrap();
        let sealed = TaskMessage::seal(body("p"), &key).unwrap();
        assert_eq!(TaskMessage::open(&sealed, &key, "p").unwrap().function, [1, 2]);
        let other = Key::generate().unwrap();
        assert!(TaskMessage::open(&sealed, &other, "p").unwrap_err().reason.contains("not signed"));
        let wrong_program = TaskMessage::open(&sealed, &key, "q").unwrap_err();
        assert!(wrong_program.reason.contains("for program p"), "{wrong_program:?}");
        assert_eq!(wrong_program.id.as_deref(), Some("t"));
        // Any byte changed: it does not decode, or its tag fails.
        for i in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x40;
            assert!(TaskMessage::open(&altered, &key, "p").is_err(), "byte {i}");
        }
        assert!(TaskMessage::open(&[], &key, "p").is_err());
    }

    #[test]
    fn a_stored_outcome_that_does_not_decode_is_corrupt_and_a_wrong_type_is_named() {
        let error = Outcome::decode("t", &[0xff, 0xff]).unwrap_err();
        assert!(matches!(error, RemoteError::CorruptOutcome { .. }), "{error:?}");
        let seven = Outcome::Completed(pp_pool::encode(&7u8).unwrap());
        let error = seven.into_result::<bool>("t").unwrap_err();
        assert!(
            matches!(error, RemoteError::WrongResultType { expected: "bool", .. }),
            "{error:?}"
        );
    }
}
