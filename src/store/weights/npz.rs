//! numpy `.npz` archives read without trusting what they declare.
//!
//! An `.npz` is a zip of `.npy` files, stored (`np.savez`) or deflated
//! (`np.savez_compressed`). The archive is already in memory; its central directory
//! is read here and every entry is checked against the archive's length before
//! anything is sized from it: an entry's data must lie inside the file, a stored
//! entry's declared length must be its stored length, and a deflated entry may not
//! declare more than [`MAX_DEFLATE_RATIO`] times its compressed length (what deflate
//! can reach at all) nor more than [`MAX_ENTRY_BYTES`]. Inflating stops at the
//! declared length, and the CRC-32 must match. Each entry's bytes then go through the
//! strict `.npy` reader ([`crate::store::read_npy_from`]), which checks the header's
//! shape against the entry's length before allocating the array.
//!
//! (ndarray-npy's reader, used before, allocated `vec![0; HEADER_LEN]` and the whole
//! array from the header's numbers: a 200-byte archive could ask for gigabytes.)

/// The most an entry may hold once inflated: far above any convolution layer (a
/// 512 x 512 x 7 x 7 float32 kernel bank is 51 MB).
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// The largest expansion deflate can encode (258-byte matches in about two bits
/// each): a deflated entry declaring more than this times its compressed length lies.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// One member of the archive, as its central directory entry describes it.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// The member's name in the archive (`conv1.weight.npy`).
    pub name: String,
    method: u16,
    flags: u16,
    crc32: u32,
    compressed: u64,
    uncompressed: u64,
    local_offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// The central directory's entries, in archive order (the order `np.savez` wrote the
/// arrays).
pub(super) fn entries(b: &[u8]) -> Result<Vec<Entry>, String> {
    let truncated = || "the zip directory is missing or truncated (a damaged .npz?)".to_string();
    // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB.
    let lowest = b.len().saturating_sub(22 + 0xFFFF);
    let eocd = (lowest..=b.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(b, i) == Some(EOCD))
        .ok_or_else(truncated)?;
    let mut count = u16_at(b, eocd + 10).ok_or_else(truncated)? as u64;
    let mut cd_size = u32_at(b, eocd + 12).ok_or_else(truncated)? as u64;
    let mut cd_offset = u32_at(b, eocd + 16).ok_or_else(truncated)? as u64;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // Zip64: the locator just before the record points at the zip64 record.
        let loc = eocd.checked_sub(20).ok_or_else(truncated)?;
        if u32_at(b, loc) != Some(ZIP64_LOCATOR) {
            return Err(truncated());
        }
        let rec = u64_at(b, loc + 8).ok_or_else(truncated)?;
        let rec = usize::try_from(rec).map_err(|_| truncated())?;
        if u32_at(b, rec) != Some(ZIP64_EOCD) {
            return Err(truncated());
        }
        count = u64_at(b, rec + 32).ok_or_else(truncated)?;
        cd_size = u64_at(b, rec + 40).ok_or_else(truncated)?;
        cd_offset = u64_at(b, rec + 48).ok_or_else(truncated)?;
    }
    let end = cd_offset
        .checked_add(cd_size)
        .filter(|&e| e <= b.len() as u64)
        .ok_or_else(|| {
            format!(
                "the zip directory ({cd_size} bytes at offset {cd_offset}) lies outside the {}-byte file",
                b.len()
            )
        })?;
    let cd = &b[cd_offset as usize..end as usize];
    // Each entry takes at least 46 bytes: the count cannot ask for more than fit.
    if count > cd.len() as u64 / 46 {
        return Err(format!(
            "the zip directory lists {count} entries but its {} bytes hold at most {}",
            cd.len(),
            cd.len() / 46
        ));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    for _ in 0..count {
        if u32_at(cd, at) != Some(CENTRAL) {
            return Err(truncated());
        }
        let flags = u16_at(cd, at + 8).ok_or_else(truncated)?;
        let method = u16_at(cd, at + 10).ok_or_else(truncated)?;
        let crc32 = u32_at(cd, at + 16).ok_or_else(truncated)?;
        let mut compressed = u32_at(cd, at + 20).ok_or_else(truncated)? as u64;
        let mut uncompressed = u32_at(cd, at + 24).ok_or_else(truncated)? as u64;
        let name_len = u16_at(cd, at + 28).ok_or_else(truncated)? as usize;
        let extra_len = u16_at(cd, at + 30).ok_or_else(truncated)? as usize;
        let comment_len = u16_at(cd, at + 32).ok_or_else(truncated)? as usize;
        let mut local_offset = u32_at(cd, at + 42).ok_or_else(truncated)? as u64;
        let name = cd.get(at + 46..at + 46 + name_len).ok_or_else(truncated)?;
        let extra = cd
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(truncated)?;
        // Zip64 extra field: the 64-bit values, in this order, of those saturated.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).unwrap_or(0);
            let len = u16_at(extra, e + 2).unwrap_or(0) as usize;
            let body = extra.get(e + 4..e + 4 + len).ok_or_else(truncated)?;
            if id == 0x0001 {
                let mut k = 0;
                for v in [&mut uncompressed, &mut compressed, &mut local_offset] {
                    if *v == 0xFFFF_FFFF {
                        *v = u64_at(body, k).ok_or_else(truncated)?;
                        k += 8;
                    }
                }
            }
            e += 4 + len;
        }
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            flags,
            crc32,
            compressed,
            uncompressed,
            local_offset,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// The entry's bytes, checked: inside the file, no longer than declared, CRC-32 right.
pub(super) fn entry_data(b: &[u8], e: &Entry) -> Result<Vec<u8>, String> {
    if e.flags & 1 != 0 {
        return Err("it is encrypted".into());
    }
    let outside = || {
        format!(
            "its data ({} bytes at offset {}) lies outside the {}-byte file (truncated?)",
            e.compressed,
            e.local_offset,
            b.len()
        )
    };
    let lo = usize::try_from(e.local_offset).map_err(|_| outside())?;
    if u32_at(b, lo) != Some(LOCAL) {
        return Err(format!(
            "no zip entry header at offset {} (a damaged .npz?)",
            e.local_offset
        ));
    }
    let name_len = u16_at(b, lo + 26).ok_or_else(outside)? as u64;
    let extra_len = u16_at(b, lo + 28).ok_or_else(outside)? as u64;
    let start = e.local_offset + 30 + name_len + extra_len;
    let end = start
        .checked_add(e.compressed)
        .filter(|&end| end <= b.len() as u64)
        .ok_or_else(outside)?;
    let raw = &b[start as usize..end as usize];
    let data = match e.method {
        0 => {
            if e.uncompressed != e.compressed {
                return Err(format!(
                    "stored uncompressed, but it declares {} bytes in {} stored",
                    e.uncompressed, e.compressed
                ));
            }
            raw.to_vec()
        }
        8 => {
            let cap = MAX_DEFLATE_RATIO
                .saturating_mul(e.compressed)
                .min(MAX_ENTRY_BYTES);
            if e.uncompressed > cap {
                return Err(format!(
                    "it declares {} bytes once inflated, more than the {cap} bytes allowed \
                     ({MAX_DEFLATE_RATIO} times its {} compressed bytes, at most {MAX_ENTRY_BYTES})",
                    e.uncompressed, e.compressed
                ));
            }
            let out = inflate(raw, e.uncompressed as usize)
                .map_err(|m| format!("damaged deflate data: {m}"))?;
            if out.len() as u64 != e.uncompressed {
                return Err(format!(
                    "it inflates to {} bytes but declares {}",
                    out.len(),
                    e.uncompressed
                ));
            }
            out
        }
        m => {
            return Err(format!(
                "zip compression method {m} is not supported (stored or deflated, as numpy writes)"
            ));
        }
    };
    let crc = crc32(&data);
    if crc != e.crc32 {
        return Err(format!(
            "CRC-32 mismatch ({crc:08x}, the archive says {:08x}): damaged",
            e.crc32
        ));
    }
    Ok(data)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// Raw deflate (RFC 1951) into at most `limit` bytes: output beyond it is an error,
/// so a lying header cannot make this grow without bound (flate2, whose backend is
/// the pure-Rust miniz_oxide).
pub(super) fn inflate(input: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::with_capacity(limit.min(input.len().saturating_mul(4)));
    flate2::read::DeflateDecoder::new(input)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() > limit {
        return Err(format!(
            "it inflates to more than the {limit} bytes declared"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_inflate_of_known_streams() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // zlib.compress(b"hello hello hello hello", 9)[2:-4] (raw deflate, fixed codes).
        let raw = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x27, 0x01];
        assert_eq!(inflate(&raw, 100).unwrap(), b"hello hello hello hello");
        let e = inflate(&raw, 10).unwrap_err();
        assert!(e.contains("more than the 10 bytes"), "{e}");
        // Cut short: an error, or fewer bytes than declared (which entry_data refuses).
        assert!(inflate(&raw[..5], 100).map_or(true, |o| o.len() < 23));
        // A stored block.
        let stored = [0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c'];
        assert_eq!(inflate(&stored, 3).unwrap(), b"abc");
        assert!(inflate(&[0x07], 3).is_err(), "block type 3");
    }
}
