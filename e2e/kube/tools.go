//go:build tools

// Package tools records the test programs built from this module besides the commands
// (kubelet and the control plane): the node e2e suite, the ginkgo runner that runs it in
// parallel, and agnhost, so that go.mod and go.sum keep their dependencies.
package tools

import (
	_ "github.com/onsi/ginkgo/v2/ginkgo"
	_ "k8s.io/kubernetes/test/e2e_node"
	_ "k8s.io/kubernetes/test/images/agnhost"
)
