//! The value formats of `skillstream/xapi/formats.py`, for ASCII text.
//!
//! Each check answers "surely valid" (`true`) or "not sure" (`false`): text with non-ASCII
//! characters is always "not sure", because Python's regexes give `\d` and `\s` their
//! Unicode meaning, and the statement then goes the Python way, which decides and words
//! the reason. So what these accept is a subset of what Python accepts, never more.

use regex::Regex;
use std::sync::LazyLock;

fn is_scheme(s: &[u8]) -> bool {
    !s.is_empty()
        && s[0].is_ascii_alphabetic()
        && s[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
}

/// The part after `scheme:`, when the value starts with a valid scheme and a colon.
fn after_scheme(value: &str) -> Option<&[u8]> {
    let colon = value.find(':')?;
    let (scheme, rest) = (&value.as_bytes()[..colon], &value.as_bytes()[colon + 1..]);
    (is_scheme(scheme) && !rest.is_empty()).then_some(rest)
}

/// `_IRI`: a scheme, a colon, then no white space, control or `<>"{}|\^\``.
pub fn is_iri(value: &str) -> bool {
    value.is_ascii()
        && after_scheme(value).is_some_and(|rest| {
            rest.iter().all(|&c| {
                c > b' '
                    && c != 0x7f
                    && !matches!(
                        c,
                        b'<' | b'>' | b'"' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'`'
                    )
            })
        })
}

/// `_ASCII_URI`: a scheme, a colon, then `[!#-;=?-\[\]_a-z~]+`.
pub fn is_uri(value: &str) -> bool {
    after_scheme(value).is_some_and(|rest| {
        rest.iter().all(|&c| {
            matches!(c, b'!' | b'#'..=b';' | b'=' | b'?'..=b'[' | b']' | b'_' | b'a'..=b'z' | b'~')
        })
    })
}

fn is_hex(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_hexdigit)
}

pub fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b[8] == b'-'
        && b[13] == b'-'
        && b[18] == b'-'
        && b[23] == b'-'
        && [&b[..8], &b[9..13], &b[14..18], &b[19..23], &b[24..]]
            .iter()
            .all(|p| is_hex(p))
}

pub fn is_sha1_hex(value: &str) -> bool {
    value.len() == 40 && is_hex(value.as_bytes())
}

/// `_MAILTO`: `mailto:` and one address, no white space, `@ , ; < >` in either part.
pub fn is_mailto(value: &str) -> bool {
    if !value.is_ascii() {
        return false;
    }
    let Some(address) = value.strip_prefix("mailto:") else {
        return false;
    };
    let Some((local, host)) = address.split_once('@') else {
        return false;
    };
    let allowed = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|c| {
                // Python's \s in ASCII: \t \n \v \f \r, \x1c-\x1f and the space
                !matches!(c, b'@' | b',' | b';' | b'<' | b'>' | b' ' | 0x09..=0x0d | 0x1c..=0x1f)
            })
    };
    allowed(local) && allowed(host)
}

/// `_VERSION_2`: `1.0`, `2.0`, with an optional `.N`.
pub fn is_version_2(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() < 3 || !matches!(b[0], b'1' | b'2') || &b[1..3] != b".0" {
        return false;
    }
    match &b[3..] {
        [] => true,
        [b'.', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

static LANGUAGE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    let alnum = "[A-Za-z0-9]";
    let langtag = format!(
        "(?:[A-Za-z]{{2,3}}(?:-[A-Za-z]{{3}}){{0,3}}|[A-Za-z]{{4}}|[A-Za-z]{{5,8}})\
         (?:-[A-Za-z]{{4}})?\
         (?:-(?:[A-Za-z]{{2}}|[0-9]{{3}}))?\
         (?:-(?:{alnum}{{5,8}}|[0-9]{alnum}{{3}}))*\
         (?:-[0-9A-WYZa-wyz](?:-{alnum}{{2,8}})+)*\
         (?:-[xX](?:-{alnum}{{1,8}})+)?"
    );
    let private_use = format!("[xX](?:-{alnum}{{1,8}})+");
    let grandfathered = "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|\
                         i-mingo|i-navajo|i-pwn|i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|\
                         art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|\
                         zh-min-nan|zh-xiang";
    Regex::new(&format!(
        "^(?:{langtag}|{private_use}|(?i:{grandfathered}))$"
    ))
    .expect("the language tag pattern compiles")
});

pub fn is_language_tag(value: &str) -> bool {
    value.is_ascii() && LANGUAGE_TAG.is_match(value)
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// A valid xAPI timestamp as microseconds since the epoch in UTC (zone-less read as UTC),
/// or None when it is not surely valid. Fractions beyond microseconds, the years 1 and 9999
/// (where the UTC instant may leave Python's range) and the rare shapes go the Python way.
pub fn timestamp_micros(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let (month, day, hour) = (digits(b, 5, 2)?, digits(b, 8, 2)?, digits(b, 11, 2)?);
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    let mut at = 16;
    let (mut second, mut micros) = (0, 0);
    if b.get(at) == Some(&b':') {
        second = digits(b, at + 1, 2)?;
        at += 3;
        if matches!(b.get(at), Some(b'.' | b',')) {
            let count = b[at + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if count == 0 || count > 6 {
                return None;
            }
            let fraction = digits(b, at + 1, count)?;
            micros = fraction * 10u32.pow(6 - count as u32);
            at += 1 + count;
        }
    }
    let offset_minutes: i64 = match &b[at..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone.len() {
                2 => (digits(zone, 0, 2)?, 0),
                4 => (digits(zone, 0, 2)?, digits(zone, 2, 2)?),
                5 if zone[2] == b':' => (digits(zone, 0, 2)?, digits(zone, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 || (*sign == b'-' && h == 0 && m == 0) {
                return None; // out of range, or -00:00 (xAPI Data 4.5)
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let year = i64::from(year);
    if !(2..=9998).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_minutes * 60;
    Some(seconds * 1_000_000 + i64::from(micros))
}

const UNIT_SECONDS_YMD: [f64; 3] = [365.25 * 86400.0, 30.44 * 86400.0, 86400.0];
const UNIT_SECONDS_HMS: [f64; 3] = [3600.0, 60.0, 1.0];

/// An ISO 8601 duration (`_DURATION` and the one-fraction rule) in seconds, summed in the
/// order Python sums it; None when it is not one.
pub fn duration_seconds(value: &str) -> Option<f64> {
    let b = value.as_bytes();
    if !value.is_ascii() || b.first() != Some(&b'P') {
        return None;
    }
    // (amount text, unit seconds) of each component given, in designator order.
    let mut given: Vec<(&str, f64)> = Vec::new();
    let mut at = 1;
    let number = |at: &mut usize| -> Option<&str> {
        let start = *at;
        while b.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        if *at == start {
            return None;
        }
        if matches!(b.get(*at), Some(b'.' | b',')) && b.get(*at + 1).is_some_and(u8::is_ascii_digit)
        {
            *at += 1;
            while b.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
        }
        Some(&value[start..*at])
    };
    let mut probe = at;
    if let Some(weeks) = number(&mut probe)
        && b.get(probe) == Some(&b'W')
    {
        if probe + 1 != b.len() {
            return None;
        }
        given.push((weeks, 7.0 * 86400.0));
        return sum_components(&given);
    }
    // (?=\d|T\d) after the P; then [nY][nM][nD], then T(?=\d)[nH][nM][nS]
    let starts_well = match b.get(1) {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'T') => b.get(2).is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    if !starts_well {
        return None;
    }
    for (designators, seconds, is_time) in [
        (b"YMD", UNIT_SECONDS_YMD, false),
        (b"HMS", UNIT_SECONDS_HMS, true),
    ] {
        if is_time {
            if b.get(at) != Some(&b'T') {
                break;
            }
            if !b.get(at + 1).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            at += 1;
        }
        let mut next = 0; // designators before `next` are passed
        while at < b.len() && b[at].is_ascii_digit() {
            let mut end = at;
            let amount = number(&mut end)?;
            let unit = designators[next..]
                .iter()
                .position(|d| b.get(end) == Some(d))?;
            given.push((amount, seconds[next + unit]));
            next += unit + 1;
            at = end + 1;
        }
    }
    if at != b.len() || given.is_empty() {
        return None;
    }
    sum_components(&given)
}

fn sum_components(given: &[(&str, f64)]) -> Option<f64> {
    let fractional = |amount: &str| amount.contains(['.', ',']);
    if given[..given.len() - 1]
        .iter()
        .any(|(amount, _)| fractional(amount))
    {
        return None; // only the lowest-order component given may carry a fraction
    }
    let mut total = 0.0;
    for (amount, seconds) in given {
        total += amount.replace(',', ".").parse::<f64>().ok()? * seconds;
    }
    Some(total)
}
