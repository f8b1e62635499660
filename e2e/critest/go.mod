// critest (the CRI conformance suite) at a pinned cri-tools release, the small programs that
// stand in for its test images' servers, and a CRI client from the cri-api release critest
// uses. Built by e2e/src/critest_images.rs.
module cricket.e2e/critest

go 1.26.6

require (
	google.golang.org/grpc v1.83.2
	k8s.io/cri-api v0.37.0
	sigs.k8s.io/cri-tools v1.37.0
)

require (
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260819154853-08b0e4226688 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
