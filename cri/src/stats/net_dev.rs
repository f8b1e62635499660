//! A network namespace's interface counters, from `/proc/<pid>/net/dev` of a process in it.

use crate::context::Context;
use crate::store::containers::ContainerState;
use crate::store::sandboxes::Sandbox;

/// One interface's counters, received (rx) and sent (tx).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceCounters {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
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
            (name != "lo" && n.len() >= 12).then(|| InterfaceCounters {
                name: name.to_string(),
                rx_bytes: n[0],
                rx_packets: n[1],
                rx_errors: n[2],
                rx_dropped: n[3],
                tx_bytes: n[8],
                tx_packets: n[9],
                tx_errors: n[10],
                tx_dropped: n[11],
            })
        })
        .collect()
}

/// The counters of a pod's own network namespace, through its pause or any running process
/// of it; `None` for host-network pods (those are the node's) and pods with no process.
pub fn of_pod(ctx: &Context, s: &Sandbox) -> Option<Vec<InterfaceCounters>> {
    if s.meta.netns.is_empty() {
        return None;
    }
    let pause = (s.meta.pause && s.status.pid > 0).then_some(s.status.pid);
    let running = || {
        let pids = ctx.containers.map(|c| {
            let runs = c.status.state == ContainerState::Running && c.status.pid > 0;
            (runs && c.meta.sandbox_id == s.meta.id).then_some(c.status.pid)
        });
        pids.first().copied()
    };
    let pid = pause.or_else(running)?;
    std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok().map(|table| parse(&table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_per_interface_without_loopback() {
        let table = "Inter-|   Receive                                                |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
             lo:     560       8    0    0    0     0          0         0      560       8    0    0    0     0       0          0\n  \
             eth0:   12345      30    1    4    0     0          0         0     6789      20    2    5    0     0       0          0\n";
        let eth0 = InterfaceCounters {
            name: "eth0".into(),
            rx_bytes: 12345,
            rx_packets: 30,
            rx_errors: 1,
            rx_dropped: 4,
            tx_bytes: 6789,
            tx_packets: 20,
            tx_errors: 2,
            tx_dropped: 5,
        };
        assert_eq!(parse(table), [eth0]);
    }
}
