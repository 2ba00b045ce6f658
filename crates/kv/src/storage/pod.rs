//! Plain-old-data element types: their bytes are written to files as they are in memory
//! (little-endian hosts) and viewed in place from memory maps, without a copy.

use half::f16;

/// Types with no padding and no invalid bit patterns.
///
/// # Safety
/// Implementors must be `Copy` types whose every byte pattern of `size_of::<Self>()` bytes is a
/// valid value and that contain no padding.
pub unsafe trait Pod: Copy + Send + Sync + 'static {}

// SAFETY: IEEE floats and unsigned integers: every bit pattern is a value, no padding.
unsafe impl Pod for f32 {}
// SAFETY: as above (16-bit IEEE half).
unsafe impl Pod for f16 {}
// SAFETY: as above.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}

/// The bytes of `x`.
pub fn as_bytes<T: Pod>(x: &[T]) -> &[u8] {
    // SAFETY: T is Pod (no padding), the pointer and length describe exactly x's memory, and u8
    // has alignment 1.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<u8>(), std::mem::size_of_val(x)) }
}

/// `b` viewed as `[T]`, or `None` when misaligned or not a whole number of elements.
pub fn from_bytes<T: Pod>(b: &[u8]) -> Option<&[T]> {
    let sz = std::mem::size_of::<T>();
    if sz == 0
        || !b.len().is_multiple_of(sz)
        || !(b.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return None;
    }
    // SAFETY: alignment and length were checked; T is Pod so every byte pattern is valid; the
    // lifetime is tied to b.
    Some(unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<T>(), b.len() / sz) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_misalignment() {
        let x = [1.5f32, -2.0, 3.25];
        let b = as_bytes(&x);
        assert_eq!(b.len(), 12);
        assert_eq!(from_bytes::<f32>(b), Some(&x[..]));
        assert!(from_bytes::<f32>(&b[1..5]).is_none());
        assert!(from_bytes::<f32>(&b[..6]).is_none());
    }
}
