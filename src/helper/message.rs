//! The reports the helper child sends its parent, and their wire format.
//!
//! Encoding runs in the child after fork(2): it touches only the stack (a
//! fixed-size array, no allocation, no locks). Decoding runs in the parent
//! and is strict: every byte of a report is accounted for, and anything
//! this module would not have written (a short or long report, an unknown
//! report or step tag, an unknown namespace kind, an argument or padding
//! where none belongs, an errno outside the kernel's range) is a
//! [`DecodeError`], never a guess and never a panic.
//!
//! A report is [`LEN`] bytes, written with one write(2) (so a pipe
//! delivers it whole): the report tag; for a failure, the step tag, the
//! step's argument (native-endian `u16`) and the errno (native-endian
//! `i32`); zeroes elsewhere. Both ends are the same binary, so native
//! byte order is the order.

use std::fmt;

use rustix::io::Errno;

use super::Step;
use crate::ns::Kind;

/// The length of every report.
pub(super) const LEN: usize = 8;

/// A report as it travels over the pipe.
pub(super) type Encoded = [u8; LEN];

/// What the helper child tells its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Message {
    /// The new user namespace exists: the parent writes its id maps, then
    /// a byte that lets the child go on.
    UserReady,
    /// Every namespace exists and is set up: the parent may pin them.
    Ready,
    /// A step failed, with this errno; the child then waits to be told to
    /// exit.
    Failed(Step, Errno),
}

/// The report tags (byte 0).
mod report {
    pub(super) const USER_READY: u8 = 1;
    pub(super) const READY: u8 = 2;
    pub(super) const FAILED: u8 = 3;
}

/// The step tags of a failure (byte 1).
mod step {
    pub(super) const UNSHARE_USER: u8 = 0;
    pub(super) const BECOME_ROOT: u8 = 1;
    /// The argument is the namespace kind's position in [`Kind::ALL`].
    ///
    /// [`Kind::ALL`]: crate::ns::Kind::ALL
    pub(super) const UNSHARE: u8 = 2;
    pub(super) const TIME_OFFSETS: u8 = 3;
    /// The argument is the sysctl's index in the set-up's list.
    pub(super) const SYSCTL: u8 = 4;
    pub(super) const LOOPBACK: u8 = 5;
    pub(super) const HELPER: u8 = 6;
}

/// The errnos the kernel returns: 1 to 4095.
const ERRNO_RANGE: std::ops::RangeInclusive<i32> = 1..=4095;

/// Why a report was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DecodeError {
    /// The report is not [`LEN`] bytes long.
    Length(usize),
    /// Byte 0 is no report tag.
    Report(u8),
    /// Byte 1 of a failure is no step tag.
    Step(u8),
    /// The argument of an unshare step names no namespace kind.
    Kind(u16),
    /// The errno of a failure is outside 1 to 4095.
    Errno(i32),
    /// A byte that should be zero is not.
    Padding,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Length(n) => write!(f, "a report of {n} bytes, not {LEN}"),
            DecodeError::Report(tag) => write!(f, "unknown report tag {tag}"),
            DecodeError::Step(tag) => write!(f, "unknown step tag {tag}"),
            DecodeError::Kind(arg) => write!(f, "unknown namespace kind {arg}"),
            DecodeError::Errno(errno) => write!(f, "errno {errno} out of range"),
            DecodeError::Padding => f.write_str("stray bytes in a report"),
        }
    }
}

impl Message {
    /// The report's bytes. Async-signal-safe: stack only.
    pub(super) fn encode(self) -> Encoded {
        let mut out = [0u8; LEN];
        match self {
            Message::UserReady => out[0] = report::USER_READY,
            Message::Ready => out[0] = report::READY,
            Message::Failed(failed, errno) => {
                let (tag, arg): (u8, u16) = match failed {
                    Step::Helper => (step::HELPER, 0),
                    Step::UnshareUser => (step::UNSHARE_USER, 0),
                    Step::BecomeRoot => (step::BECOME_ROOT, 0),
                    Step::Unshare(kind) => (step::UNSHARE, kind_index(kind)),
                    Step::TimeOffsets => (step::TIME_OFFSETS, 0),
                    Step::Sysctl(i) => (step::SYSCTL, i),
                    Step::Loopback => (step::LOOPBACK, 0),
                };
                out[0] = report::FAILED;
                out[1] = tag;
                out[2..4].copy_from_slice(&arg.to_ne_bytes());
                out[4..8].copy_from_slice(&errno.raw_os_error().to_ne_bytes());
            }
        }
        out
    }

    /// The report `bytes` encode, or why they encode none.
    pub(super) fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let bytes: &Encoded = bytes
            .try_into()
            .map_err(|_| DecodeError::Length(bytes.len()))?;
        let arg = u16::from_ne_bytes([bytes[2], bytes[3]]);
        let errno = i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let bare = |message| {
            if bytes[1..].iter().all(|b| *b == 0) {
                Ok(message)
            } else {
                Err(DecodeError::Padding)
            }
        };
        match bytes[0] {
            report::USER_READY => bare(Message::UserReady),
            report::READY => bare(Message::Ready),
            report::FAILED => {
                let no_arg = |failed| {
                    if arg == 0 {
                        Ok(failed)
                    } else {
                        Err(DecodeError::Padding)
                    }
                };
                let failed = match bytes[1] {
                    step::HELPER => no_arg(Step::Helper)?,
                    step::UNSHARE_USER => no_arg(Step::UnshareUser)?,
                    step::BECOME_ROOT => no_arg(Step::BecomeRoot)?,
                    step::UNSHARE => Step::Unshare(
                        *Kind::ALL
                            .get(usize::from(arg))
                            .ok_or(DecodeError::Kind(arg))?,
                    ),
                    step::TIME_OFFSETS => no_arg(Step::TimeOffsets)?,
                    step::SYSCTL => Step::Sysctl(arg),
                    step::LOOPBACK => no_arg(Step::Loopback)?,
                    tag => return Err(DecodeError::Step(tag)),
                };
                if !ERRNO_RANGE.contains(&errno) {
                    return Err(DecodeError::Errno(errno));
                }
                Ok(Message::Failed(failed, Errno::from_raw_os_error(errno)))
            }
            tag => Err(DecodeError::Report(tag)),
        }
    }
}

/// `kind`'s position in [`Kind::ALL`], which names it on the wire.
fn kind_index(kind: Kind) -> u16 {
    let mut i = 0;
    while Kind::ALL[i] != kind {
        i += 1;
    }
    i as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every step, each kind and the extreme sysctl indexes among them. The
    /// match has no wildcard, so a new step does not compile until it is
    /// given a number here, and a number with no sample fails the test.
    fn every_step() -> Vec<Step> {
        let mut steps = vec![
            Step::Helper,
            Step::UnshareUser,
            Step::BecomeRoot,
            Step::TimeOffsets,
            Step::Sysctl(0),
            Step::Sysctl(1),
            Step::Sysctl(u16::MAX),
            Step::Loopback,
        ];
        steps.extend(Kind::ALL.map(Step::Unshare));
        let number = |step: &Step| match step {
            Step::Helper => 0,
            Step::UnshareUser => 1,
            Step::BecomeRoot => 2,
            Step::Unshare(_) => 3,
            Step::TimeOffsets => 4,
            Step::Sysctl(_) => 5,
            Step::Loopback => 6,
        };
        let mut seen: Vec<u8> = steps.iter().map(number).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..=6).collect::<Vec<u8>>(), "a step has no sample");
        steps
    }

    fn every_message() -> Vec<Message> {
        let errnos = [
            Errno::PERM,
            Errno::INVAL,
            Errno::BADF,
            Errno::from_raw_os_error(4095),
        ];
        let mut messages = vec![Message::UserReady, Message::Ready];
        for step in every_step() {
            messages.extend(errnos.map(|errno| Message::Failed(step, errno)));
        }
        messages
    }

    #[test]
    fn every_message_round_trips() {
        for message in every_message() {
            let bytes = message.encode();
            assert_eq!(Message::decode(&bytes), Ok(message), "{bytes:?}");
        }
    }

    #[test]
    fn messages_encode_apart() {
        let mut all: Vec<Encoded> = every_message().into_iter().map(Message::encode).collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "two messages share an encoding");
    }

    #[test]
    fn unknown_tags_are_refused() {
        let failed = Message::Failed(Step::Loopback, Errno::PERM).encode();
        for tag in [0, 4, 5, 255] {
            let mut bytes = failed;
            bytes[0] = tag;
            assert_eq!(Message::decode(&bytes), Err(DecodeError::Report(tag)));
        }
        for tag in [7, 8, 255] {
            let mut bytes = failed;
            bytes[1] = tag;
            assert_eq!(Message::decode(&bytes), Err(DecodeError::Step(tag)));
        }
    }

    #[test]
    fn unknown_kinds_are_refused() {
        let unshare = Message::Failed(Step::Unshare(Kind::Mnt), Errno::PERM).encode();
        for arg in [Kind::ALL.len() as u16, 9, u16::MAX] {
            let mut bytes = unshare;
            bytes[2..4].copy_from_slice(&arg.to_ne_bytes());
            assert_eq!(Message::decode(&bytes), Err(DecodeError::Kind(arg)));
        }
    }

    #[test]
    fn short_and_long_reports_are_refused() {
        for message in every_message() {
            let bytes = message.encode();
            for n in 0..LEN {
                assert_eq!(Message::decode(&bytes[..n]), Err(DecodeError::Length(n)));
            }
            let mut long = bytes.to_vec();
            long.push(0);
            assert_eq!(Message::decode(&long), Err(DecodeError::Length(LEN + 1)));
        }
    }

    #[test]
    fn stray_bytes_and_bad_errnos_are_refused() {
        for message in [Message::UserReady, Message::Ready] {
            for i in 1..LEN {
                let mut bytes = message.encode();
                bytes[i] = 1;
                assert_eq!(
                    Message::decode(&bytes),
                    Err(DecodeError::Padding),
                    "byte {i}"
                );
            }
        }
        let mut bytes = Message::Failed(Step::BecomeRoot, Errno::PERM).encode();
        bytes[2] = 1;
        assert_eq!(Message::decode(&bytes), Err(DecodeError::Padding));
        for errno in [0, -1, 4096, i32::MAX] {
            let mut bytes = Message::Failed(Step::Sysctl(3), Errno::PERM).encode();
            bytes[4..8].copy_from_slice(&errno.to_ne_bytes());
            assert_eq!(Message::decode(&bytes), Err(DecodeError::Errno(errno)));
        }
    }
}
