// critest (the CRI conformance suite) at a pinned cri-tools release, and the small programs
// that stand in for its test images' servers. Built by e2e/src/critest.rs.
module cricket.e2e/critest

go 1.26.6

require sigs.k8s.io/cri-tools v1.37.0
