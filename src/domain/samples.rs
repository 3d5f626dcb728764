//! A service's sampled reports, packed. The unchanged reports `[history]
//! service_sample_seconds` keeps are nearly all of a service's raw history; as a row
//! each, its key and framing took 16 of its ~28 bytes. A packed row holds the samples
//! of one service within one UTC hour, at most [`CHUNK_SAMPLES`] of them, each as the
//! milliseconds since the one before it, its state and its info.

use super::history::HOUR_MS;
use super::varint::{put_varint, take_varint};

/// Most samples one row holds: adding one rewrites the row, which stays small even
/// when every report is kept (`service_sample_seconds = 0`).
pub const CHUNK_SAMPLES: usize = 64;

/// One kept report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When it was measured, ms since the epoch.
    pub time: i64,
    /// Its state as kept in `service_states.state` (0 OK, 1 WARN, 2 FAIL, 3 UNK, 4 OFFLINE).
    pub state: u8,
    /// Its info.
    pub info: String,
}

/// Whether a sample at `time` joins the row that starts at `first` and holds `count`:
/// a row covers one UTC hour, so pruning by time stays exact to the hour.
pub fn joins(first: i64, count: usize, time: i64) -> bool {
    count < CHUNK_SAMPLES && first.div_euclid(HOUR_MS) == time.div_euclid(HOUR_MS)
}

/// Appends a sample measured at `time` to `packed`, whose latest sample (or the row's
/// start, for the first) was at `after`; a time before `after` is kept as `after`.
pub fn push_sample(packed: &mut Vec<u8>, after: i64, time: i64, state: u8, info: &str) {
    put_varint(packed, time.saturating_sub(after).max(0) as u64);
    packed.push(state);
    put_varint(packed, info.len() as u64);
    packed.extend_from_slice(info.as_bytes());
}

/// The samples of a row that starts at `first`, oldest first; `None` when the bytes
/// are not packed samples.
pub fn unpack_samples(first: i64, packed: &[u8]) -> Option<Vec<Sample>> {
    let mut out = Vec::new();
    walk(first, packed, |time, state, info| {
        out.push(Sample {
            time,
            state,
            info: info.to_string(),
        })
    })?;
    Some(out)
}

/// The time of the latest sample of a row that starts at `first` (`first` for an empty
/// row); `None` when the bytes are not packed samples.
pub fn latest_time(first: i64, packed: &[u8]) -> Option<i64> {
    let mut latest = first;
    walk(first, packed, |time, _, _| latest = time)?;
    Some(latest)
}

/// Hands each sample of a row that starts at `first` to `each`, oldest first, its info
/// borrowed from `packed`; `None` when the bytes are not packed samples.
fn walk(first: i64, packed: &[u8], mut each: impl FnMut(i64, u8, &str)) -> Option<()> {
    let mut at = first;
    let mut rest = packed;
    while !rest.is_empty() {
        let gap = take_varint(&mut rest)?;
        at = at.checked_add(i64::try_from(gap).ok()?)?;
        let (&state, tail) = rest.split_first()?;
        rest = tail;
        let len = usize::try_from(take_varint(&mut rest)?).ok()?;
        if len > rest.len() {
            return None;
        }
        let (info, tail) = rest.split_at(len);
        rest = tail;
        each(at, state, std::str::from_utf8(info).ok()?);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_910_400_000;

    #[test]
    fn samples_come_back_as_packed() {
        let mut packed = Vec::new();
        push_sample(&mut packed, T0, T0, 0, "load 0.42");
        push_sample(&mut packed, T0, T0 + 300_000, 2, "disk 97 % — full");
        push_sample(&mut packed, T0 + 300_000, T0 + 300_000, 1, "");
        let got = unpack_samples(T0, &packed).unwrap();
        let want = [
            (T0, 0, "load 0.42"),
            (T0 + 300_000, 2, "disk 97 % — full"),
            (T0 + 300_000, 1, ""),
        ];
        assert_eq!(got.len(), want.len());
        for (s, (time, state, info)) in got.iter().zip(want) {
            assert_eq!((s.time, s.state, s.info.as_str()), (time, state, info));
        }
        assert_eq!(latest_time(T0, &packed), Some(T0 + 300_000));
        assert_eq!(latest_time(T0, &[]), Some(T0));
        // A sample of 5 minutes after the one before: 3 bytes of time, 1 of state, 1
        // of length, then its info.
        let mut one = Vec::new();
        push_sample(&mut one, T0, T0 + 300_000, 0, "load 1.23");
        assert_eq!(one.len(), 3 + 1 + 1 + 9);
    }

    #[test]
    fn damaged_rows_are_refused() {
        let mut packed = Vec::new();
        push_sample(&mut packed, T0, T0 + 1, 0, "abc");
        for cut in 1..packed.len() {
            assert_eq!(unpack_samples(T0, &packed[..cut]), None, "cut at {cut}");
            assert_eq!(latest_time(T0, &packed[..cut]), None, "cut at {cut}");
        }
        assert_eq!(unpack_samples(T0, &[0x80; 11]), None);
        assert_eq!(unpack_samples(T0, &[0, 0, 2, 0xff, 0xfe]), None);
        assert_eq!(latest_time(T0, &[0, 0, 2, 0xff, 0xfe]), None, "not UTF-8");
    }

    #[test]
    fn a_row_holds_one_hour_and_a_bounded_number_of_samples() {
        let hour = T0 - T0 % HOUR_MS;
        assert!(joins(hour, 1, hour + HOUR_MS - 1));
        assert!(!joins(hour, 1, hour + HOUR_MS));
        assert!(joins(hour + 10, CHUNK_SAMPLES - 1, hour + 20));
        assert!(!joins(hour + 10, CHUNK_SAMPLES, hour + 20));
    }
}
