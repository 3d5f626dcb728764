//! LEB128 numbers: seven bits a byte, low bits first; the packed histograms and
//! samples of the history use them, so small numbers take a byte.

/// `n` as LEB128: seven bits a byte, low bits first, the top bit set on all but the last.
pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Takes a LEB128 number from the front of `bytes`; `None` when it is cut short or
/// does not fit 64 bits.
pub fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        if shift == 63 && b > 1 {
            return None;
        }
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for n in [0, 1, 127, 128, 300_000, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let mut bytes = out.as_slice();
            assert_eq!(take_varint(&mut bytes), Some(n));
            assert!(bytes.is_empty());
        }
    }
}
