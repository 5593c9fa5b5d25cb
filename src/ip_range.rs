//! IP addresses and CIDR ranges as ranges of one 128-bit space (IPv4 mapped into IPv6), so
//! that membership and overlap are two comparisons whatever the family.

use std::net::IpAddr;

/// An address or a CIDR block: its first and last address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    first: u128,
    last: u128,
}

fn mapped(addr: IpAddr) -> (u128, u32) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)) | (0xffff << 32), 32),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)) | (0xffff << 32), 32),
            None => (u128::from(a), 128),
        },
    }
}

impl IpRange {
    /// `10.0.0.7`, `10.0.0.0/24`, `2001:db8::/48`; `None` for anything else.
    pub fn parse(v: &str) -> Option<IpRange> {
        let (ip, bits) = match v.trim().split_once('/') {
            Some((ip, bits)) => (ip, Some(bits.parse::<u32>().ok()?)),
            None => (v.trim(), None),
        };
        let (value, width) = mapped(ip.parse().ok()?);
        let bits = bits.unwrap_or(width);
        if bits > width {
            return None;
        }
        let host_bits = width - bits;
        let mask = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
        Some(IpRange { first: value & !mask, last: value | mask })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let (v, _) = mapped(addr);
        self.first <= v && v <= self.last
    }

    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_and_overlap_across_families() {
        let net = IpRange::parse("10.1.2.0/24").expect("cidr");
        assert!(net.contains("10.1.2.200".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.2.9".parse().expect("mapped")), "an IPv4-mapped peer");
        assert!(!net.contains("10.1.3.1".parse().expect("ip")));
        assert!(net.overlaps(&IpRange::parse("10.1.2.7").expect("ip")));
        assert!(!net.overlaps(&IpRange::parse("10.1.3.0/24").expect("cidr")));
        assert!(IpRange::parse("2001:db8::/48").expect("v6").contains("2001:db8::1".parse().expect("ip")));
        for bad in ["10.0.0.300", "10.0.0.0/33", "h.example", ""] {
            assert_eq!(IpRange::parse(bad), None, "{bad}");
        }
    }
}
