//! A network namespace's interface counters, from `/proc/<pid>/net/dev` of a process in it.

/// One interface: name, received bytes and errors, sent bytes and errors.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceCounters {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_errors: u64,
    pub tx_bytes: u64,
    pub tx_errors: u64,
}

/// The interfaces of a `net/dev` table, loopback left out.
pub fn parse(table: &str) -> Vec<InterfaceCounters> {
    table
        .lines()
        .skip(2)
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let n: Vec<u64> = counters.split_whitespace().filter_map(|v| v.parse().ok()).collect();
            let name = name.trim();
            (name != "lo" && n.len() >= 11).then(|| InterfaceCounters { name: name.to_string(), rx_bytes: n[0], rx_errors: n[2], tx_bytes: n[8], tx_errors: n[10] })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_per_interface_without_loopback() {
        let table = "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo:     560       8    0    0    0     0          0         0      560       8    0    0    0     0       0          0\n  \
             eth0:   12345      30    1    0    0     0          0         0     6789      20    2    0    0     0       0          0\n";
        assert_eq!(parse(table), [InterfaceCounters { name: "eth0".into(), rx_bytes: 12345, rx_errors: 1, tx_bytes: 6789, tx_errors: 2 }]);
    }
}
