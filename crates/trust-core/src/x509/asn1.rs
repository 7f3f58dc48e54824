//! A minimal, zero-copy, strict DER reader shared by the X.509 and RFC 3161 code.
//!
//! Every value is returned as borrowed slices plus absolute offsets into the buffer being read,
//! so callers can keep `Range<usize>`s into an owned DER buffer instead of re-encoding anything.
//! Only what X.509 and CMS need is supported: single-byte tags, definite minimal lengths.

use crate::time::UnixTime;
use std::ops::Range;

/// Universal and context tags used by X.509 / CMS (full identifier octets).
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[n]` constructed context-specific.
    pub const fn ctx_cons(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` primitive context-specific.
    pub const fn ctx_prim(n: u8) -> u8 {
        0x80 | n
    }
}

/// Why a DER structure was rejected (a static description, turned into a module error by callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Asn1Error(pub &'static str);

pub(crate) type Asn1Result<T> = Result<T, Asn1Error>;

/// One tag-length-value element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// Identifier octet.
    pub tag: u8,
    /// The whole element (tag, length and value).
    pub raw: &'a [u8],
    /// The value octets.
    pub value: &'a [u8],
    /// Absolute offset of the element's first octet in the reader's buffer.
    pub start: usize,
    /// Absolute offset of the first value octet.
    pub value_start: usize,
}

impl<'a> Tlv<'a> {
    /// Absolute range of the whole element.
    pub fn raw_range(&self) -> Range<usize> {
        self.start..self.start + self.raw.len()
    }

    /// Absolute range of the value octets.
    pub fn value_range(&self) -> Range<usize> {
        self.value_start..self.value_start + self.value.len()
    }

    /// A reader over the value octets (for constructed elements), keeping absolute offsets.
    pub fn reader(&self) -> Reader<'a> {
        Reader {
            data: self.value,
            base: self.value_start,
            pos: 0,
        }
    }
}

/// Sequential reader over the elements of a buffer.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    /// Absolute offset of `data[0]`.
    base: usize,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole buffer (absolute offsets start at 0).
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, base: 0, pos: 0 }
    }

    /// Whether everything has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Reads the next element.
    pub fn read(&mut self) -> Asn1Result<Tlv<'a>> {
        let rest = self.data.get(self.pos..).ok_or(Asn1Error("read past end"))?;
        let (&tag, after_tag) = rest.split_first().ok_or(Asn1Error("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(Asn1Error("high tag numbers are not supported"));
        }
        let (&first, after_len0) = after_tag.split_first().ok_or(Asn1Error("truncated length"))?;
        let (len, len_octets) = if first < 0x80 {
            (usize::from(first), 1)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(Asn1Error("indefinite length is not DER"));
            }
            if n > 4 {
                return Err(Asn1Error("length too large"));
            }
            let bytes = after_len0.get(..n).ok_or(Asn1Error("truncated length"))?;
            if bytes.first() == Some(&0) {
                return Err(Asn1Error("non-minimal length"));
            }
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 {
                return Err(Asn1Error("non-minimal length"));
            }
            (len, 1 + n)
        };
        let header = 1 + len_octets;
        let total = header.checked_add(len).ok_or(Asn1Error("length overflow"))?;
        let raw = rest.get(..total).ok_or(Asn1Error("truncated value"))?;
        let value = raw.get(header..).ok_or(Asn1Error("truncated value"))?;
        let start = self.base + self.pos;
        self.pos += total;
        Ok(Tlv {
            tag,
            raw,
            value,
            start,
            value_start: start + header,
        })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Asn1Result<Tlv<'a>> {
        let tlv = self.read().map_err(|_| Asn1Error(what))?;
        if tlv.tag != tag {
            return Err(Asn1Error(what));
        }
        Ok(tlv)
    }

    /// Reads the next element only if it has this tag.
    pub fn optional(&mut self, tag: u8) -> Asn1Result<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless everything has been consumed.
    pub fn finish(&self, what: &'static str) -> Asn1Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Asn1Error(what))
        }
    }
}

/// Parses a complete buffer holding exactly one element with the given tag.
pub(crate) fn single<'a>(data: &'a [u8], tag: u8, what: &'static str) -> Asn1Result<Tlv<'a>> {
    let mut r = Reader::new(data);
    let tlv = r.expect(tag, what)?;
    r.finish(what)?;
    Ok(tlv)
}

/// Parses the value octets of `outer` as exactly one element with the given tag (absolute offsets kept).
pub(crate) fn single_in<'a>(outer: &Tlv<'a>, tag: u8, what: &'static str) -> Asn1Result<Tlv<'a>> {
    let mut r = outer.reader();
    let tlv = r.expect(tag, what)?;
    r.finish(what)?;
    Ok(tlv)
}

/// A DER BOOLEAN value.
pub(crate) fn boolean(tlv: &Tlv<'_>) -> Asn1Result<bool> {
    match (tlv.tag, tlv.value) {
        (tag::BOOLEAN, [0x00]) => Ok(false),
        (tag::BOOLEAN, [0xff]) => Ok(true),
        _ => Err(Asn1Error("invalid BOOLEAN")),
    }
}

/// Checks an INTEGER's encoding (non-empty, minimal) and returns its value octets.
pub(crate) fn integer_bytes<'a>(tlv: &Tlv<'a>) -> Asn1Result<&'a [u8]> {
    if tlv.tag != tag::INTEGER {
        return Err(Asn1Error("expected INTEGER"));
    }
    match tlv.value {
        [] => Err(Asn1Error("empty INTEGER")),
        [0x00, b, ..] if b & 0x80 == 0 => Err(Asn1Error("non-minimal INTEGER")),
        [0xff, b, ..] if b & 0x80 != 0 => Err(Asn1Error("non-minimal INTEGER")),
        v => Ok(v),
    }
}

/// A small non-negative INTEGER.
pub(crate) fn small_uint(tlv: &Tlv<'_>) -> Asn1Result<u32> {
    let v = integer_bytes(tlv)?;
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(Asn1Error("negative INTEGER"));
    }
    let v = if v.first() == Some(&0) {
        v.get(1..).unwrap_or_default()
    } else {
        v
    };
    if v.len() > 4 {
        return Err(Asn1Error("INTEGER too large"));
    }
    Ok(v.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

/// The content of a BIT STRING without unused bits (signatures, keys).
pub(crate) fn bit_string_octets<'a>(tlv: &Tlv<'a>) -> Asn1Result<&'a [u8]> {
    match (tlv.tag, tlv.value.split_first()) {
        (tag::BIT_STRING, Some((0, rest))) => Ok(rest),
        _ => Err(Asn1Error("expected a BIT STRING without unused bits")),
    }
}

/// An AlgorithmIdentifier: the OID element and the optional parameters element.
pub(crate) fn algorithm<'a>(tlv: &Tlv<'a>) -> Asn1Result<(Tlv<'a>, Option<Tlv<'a>>)> {
    if tlv.tag != tag::SEQUENCE {
        return Err(Asn1Error("expected AlgorithmIdentifier"));
    }
    let mut r = tlv.reader();
    let oid = r.expect(tag::OID, "AlgorithmIdentifier without OID")?;
    let params = if r.is_empty() { None } else { Some(r.read()?) };
    r.finish("trailing data in AlgorithmIdentifier")?;
    Ok((oid, params))
}

/// Dotted-decimal rendering of OID value octets (for error messages and unknown OIDs).
pub(crate) fn oid_string(value: &[u8]) -> String {
    match const_oid::ObjectIdentifier::from_bytes(value) {
        Ok(oid) => oid.to_string(),
        Err(_) => format!("<invalid OID {}>", hex::encode(value)),
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
}

fn civil_to_unix(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let dim = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > dim || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = crate::time::days_from_civil(year, i64::from(month), i64::from(day));
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSS[.fff]Z`) element.
///
/// Fractional seconds are accepted for GeneralizedTime (RFC 3161 genTime); they must not be empty
/// and precision beyond nanoseconds is truncated.
pub(crate) fn time(tlv: &Tlv<'_>) -> Asn1Result<UnixTime> {
    let bad = Asn1Error("invalid time");
    let v = tlv.value;
    let (year, rest) = match tlv.tag {
        tag::UTC_TIME => {
            if v.len() != 13 {
                return Err(bad);
            }
            let yy = digits(v.get(0..2).ok_or(bad)?).ok_or(bad)?;
            (
                i64::from(if yy >= 50 { 1900 + yy } else { 2000 + yy }),
                v.get(2..).ok_or(bad)?,
            )
        }
        tag::GENERALIZED_TIME => {
            if v.len() < 15 {
                return Err(bad);
            }
            (
                i64::from(digits(v.get(0..4).ok_or(bad)?).ok_or(bad)?),
                v.get(4..).ok_or(bad)?,
            )
        }
        _ => return Err(Asn1Error("expected UTCTime or GeneralizedTime")),
    };
    let field = |r: Range<usize>| rest.get(r).and_then(digits).ok_or(bad);
    let (month, day, hour, minute, second) = (field(0..2)?, field(2..4)?, field(4..6)?, field(6..8)?, field(8..10)?);
    let tail = rest.get(10..).ok_or(bad)?;
    let nanos = match tail {
        [b'Z'] => 0,
        [b'.', frac @ .., b'Z'] if tlv.tag == tag::GENERALIZED_TIME && !frac.is_empty() => {
            if !frac.iter().all(u8::is_ascii_digit) {
                return Err(bad);
            }
            let mut n = 0u32;
            for i in 0..9 {
                n = n * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
            }
            n
        }
        _ => return Err(bad),
    };
    let secs = civil_to_unix(year, month, day, hour, minute, second).ok_or(bad)?;
    Ok(UnixTime::new(secs, nanos))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_and_definite() {
        assert!(Reader::new(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).read().is_err());
        assert!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).read().is_err());
        assert!(Reader::new(&[0x04, 0x82, 0x00, 0x81]).read().is_err());
        assert!(Reader::new(&[0x04, 0x03, 1, 2]).read().is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).read().is_err());
        assert!(Reader::new(&[]).read().is_err());
        let long = [&[0x04u8, 0x81, 0x80][..], &[7u8; 0x80][..]].concat();
        let t = Reader::new(&long).read().unwrap();
        assert_eq!((t.value.len(), t.value_start, t.raw_range()), (0x80, 3, 0..0x83));
    }

    #[test]
    fn nested_offsets_are_absolute() {
        let data = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        let outer = single(&data, tag::SEQUENCE, "x").unwrap();
        let mut r = outer.reader();
        let i = r.read().unwrap();
        assert_eq!(small_uint(&i).unwrap(), 5);
        let o = r.read().unwrap();
        assert_eq!((o.value_range(), o.value), (7..8, &[0xaa][..]));
        assert!(r.finish("x").is_ok());
    }

    #[test]
    fn integers_and_booleans() {
        let t = |tag, v: &'static [u8]| Tlv {
            tag,
            raw: v,
            value: v,
            start: 0,
            value_start: 0,
        };
        assert!(integer_bytes(&t(tag::INTEGER, &[0x00, 0x05])).is_err());
        assert!(integer_bytes(&t(tag::INTEGER, &[0x00, 0x85])).is_ok());
        assert!(small_uint(&t(tag::INTEGER, &[0x85])).is_err());
        assert!(boolean(&t(tag::BOOLEAN, &[0x01])).is_err());
        assert!(boolean(&t(tag::BOOLEAN, &[0xff])).unwrap());
    }

    #[test]
    fn times() {
        let t = |tag, v: &'static [u8]| {
            time(&Tlv {
                tag,
                raw: v,
                value: v,
                start: 0,
                value_start: 0,
            })
        };
        assert_eq!(t(tag::UTC_TIME, b"240319172626Z").unwrap().secs(), 1_710_869_186);
        assert_eq!(t(tag::UTC_TIME, b"500101000000Z").unwrap().to_civil().0, 1950);
        let g = t(tag::GENERALIZED_TIME, b"20240319172626.123Z").unwrap();
        assert_eq!((g.secs(), g.subsec_nanos()), (1_710_869_186, 123_000_000));
        for bad in [
            &b"20240319172626.Z"[..],
            b"20240319172626",
            b"20241319172626Z",
            b"20240230000000Z",
        ] {
            assert!(t(tag::GENERALIZED_TIME, bad).is_err());
        }
        assert!(t(tag::UTC_TIME, b"240319172626.1Z").is_err());
    }
}
