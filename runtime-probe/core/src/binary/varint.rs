//! LEB128 varints: seven bits a byte, low bits first, the high bit set on every byte but
//! the last. Zigzag maps signed to unsigned so small magnitudes stay short.

/// Appends `value` (one to ten bytes).
#[inline]
pub fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[inline]
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

#[inline]
pub fn unzigzag(value: u64) -> i64 {
    (value >> 1) as i64 ^ -((value & 1) as i64)
}

/// Reads a varint at the start of `bytes`: the value and the bytes it took, or `None`
/// when `bytes` ends inside it or it runs past ten bytes (or past 64 bits).
#[inline]
pub fn get(bytes: &[u8]) -> Option<(u64, usize)> {
    // Most fields (ids, kinds, small deltas) take one byte.
    if let Some(&first) = bytes.first() {
        if first < 0x80 {
            return Some((u64::from(first), 1));
        }
    }
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if index == 9 && byte > 1 {
            return None;
        }
        value |= bits << (7 * index);
        if byte < 0x80 {
            return Some((value, index + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_value_round_trips(value: u64) {
            let mut bytes = Vec::new();
            put(&mut bytes, value);
            prop_assert_eq!(get(&bytes), Some((value, bytes.len())));
            prop_assert_eq!(get(&bytes[..bytes.len() - 1]), None);
        }

        #[test]
        fn zigzag_round_trips(value: i64) {
            prop_assert_eq!(unzigzag(zigzag(value)), value);
        }
    }

    #[test]
    fn small_values_take_one_byte_and_overlong_ones_are_refused() {
        let mut bytes = Vec::new();
        put(&mut bytes, 127);
        assert_eq!(bytes, [127]);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(get(&[0xff; 11]), None);
        assert_eq!(
            get(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            None
        );
    }
}
