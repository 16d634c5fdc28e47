//! Certificate serial numbers: 20 octets, positive (RFC 5280 §4.1.2.2), shown as `1A:2B:...`.

/// Turns 20 random octets into a positive 20-octet serial: the top bit is cleared so the
/// INTEGER is positive, and the first octet is made non-zero so DER keeps all 20 octets.
pub fn new_serial_from(mut random: [u8; 20]) -> [u8; 20] {
    random[0] &= 0x7f;
    if random[0] == 0 {
        random[0] = 0x01;
    }
    random
}

/// Upper-case, colon-separated hex, as the native API documents (`1A:2B:3C`).
pub fn format_serial(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        text.push(HEX[usize::from(b >> 4)] as char);
        text.push(HEX[usize::from(b & 0x0f)] as char);
    }
    text
}

/// Accepts `1A:2B:..`, `1a2b..` or `1a-2b..`; leading zero octets are dropped so that a serial
/// compares equal however the client wrote it.
pub fn parse_serial(text: &str) -> Option<Vec<u8>> {
    let mut hex: String = text.chars().filter(|c| !matches!(c, ':' | '-' | ' ')).collect();
    if hex.is_empty() {
        return None;
    }
    // A serial printed as a number (Python's `format(n, "X")`) may drop its leading zero nibble.
    if !hex.len().is_multiple_of(2) {
        hex.insert(0, '0');
    }
    let mut bytes = hex::decode(hex).ok()?;
    while bytes.len() > 1 && bytes[0] == 0 {
        bytes.remove(0);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_is_positive_and_twenty_octets() {
        let s = new_serial_from([0xff; 20]);
        assert_eq!(s[0], 0x7f);
        let s = new_serial_from([0x80; 20]);
        assert_eq!(s[0], 0x01);
    }

    #[test]
    fn serial_round_trips_through_text() {
        let s = new_serial_from([0xab; 20]);
        let text = format_serial(&s);
        assert_eq!(text.len(), 20 * 3 - 1);
        assert_eq!(format_serial(&[0x00, 0x0f, 0xa0, 0xff]), "00:0F:A0:FF");
        assert_eq!(format_serial(&[]), "");
        assert_eq!(parse_serial(&text).unwrap(), s.to_vec());
        assert_eq!(parse_serial(&text.replace(':', "").to_lowercase()).unwrap(), s.to_vec());
        assert_eq!(parse_serial("00:0A").unwrap(), vec![0x0a]);
        assert_eq!(parse_serial("A0B").unwrap(), vec![0x0a, 0x0b], "an odd number of digits has a leading zero");
        assert!(parse_serial("xyz").is_none());
        assert!(parse_serial("").is_none());
    }
}
