// A CRI client built from k8s.io/cri-api (the version this module pins): an independent peer
// for cricket's 1.36 and 1.37 RPCs. Usage:
//
//	cri-client SOCKET
//
// It lists pods, containers and images both ways (the unary RPC and its streaming form),
// reads each container's status, and prints one JSON object: for each list the IDs from
// both and the number of pages streamed, and each container's stop signal by name.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type list struct {
	Unary    []string `json:"unary"`
	Streamed []string `json:"streamed"`
	Pages    int      `json:"pages"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func sorted(ids []string) []string {
	sort.Strings(ids)
	return ids
}

// drain reads a stream to its end, handing each page to add.
func drain[T any](recv func() (T, error), add func(T)) int {
	pages := 0
	for {
		page, err := recv()
		if err == io.EOF {
			return pages
		}
		if err != nil {
			fail("stream: %v", err)
		}
		pages++
		add(page)
	}
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: cri-client SOCKET")
	}
	conn, err := grpc.NewClient("unix://"+os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("dial: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, img := runtime.NewRuntimeServiceClient(conn), runtime.NewImageServiceClient(conn)
	out := map[string]interface{}{}

	var c list
	containers, err := rt.ListContainers(ctx, &runtime.ListContainersRequest{})
	if err != nil {
		fail("ListContainers: %v", err)
	}
	for _, x := range containers.Containers {
		c.Unary = append(c.Unary, x.Id)
	}
	cs, err := rt.StreamContainers(ctx, &runtime.StreamContainersRequest{})
	if err != nil {
		fail("StreamContainers: %v", err)
	}
	c.Pages = drain(cs.Recv, func(p *runtime.StreamContainersResponse) {
		for _, x := range p.Containers {
			c.Streamed = append(c.Streamed, x.Id)
		}
	})
	c.Unary, c.Streamed = sorted(c.Unary), sorted(c.Streamed)
	out["containers"] = c

	var p list
	pods, err := rt.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
	if err != nil {
		fail("ListPodSandbox: %v", err)
	}
	for _, x := range pods.Items {
		p.Unary = append(p.Unary, x.Id)
	}
	ps, err := rt.StreamPodSandboxes(ctx, &runtime.StreamPodSandboxesRequest{})
	if err != nil {
		fail("StreamPodSandboxes: %v", err)
	}
	p.Pages = drain(ps.Recv, func(r *runtime.StreamPodSandboxesResponse) {
		for _, x := range r.PodSandboxes {
			p.Streamed = append(p.Streamed, x.Id)
		}
	})
	p.Unary, p.Streamed = sorted(p.Unary), sorted(p.Streamed)
	out["pods"] = p

	var i list
	images, err := img.ListImages(ctx, &runtime.ListImagesRequest{})
	if err != nil {
		fail("ListImages: %v", err)
	}
	for _, x := range images.Images {
		i.Unary = append(i.Unary, x.Id)
	}
	is, err := img.StreamImages(ctx, &runtime.StreamImagesRequest{})
	if err != nil {
		fail("StreamImages: %v", err)
	}
	i.Pages = drain(is.Recv, func(r *runtime.StreamImagesResponse) {
		for _, x := range r.Images {
			i.Streamed = append(i.Streamed, x.Id)
		}
	})
	i.Unary, i.Streamed = sorted(i.Unary), sorted(i.Streamed)
	out["images"] = i

	signals := map[string]string{}
	for _, id := range c.Unary {
		s, err := rt.ContainerStatus(ctx, &runtime.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			fail("ContainerStatus %s: %v", id, err)
		}
		signals[id] = s.Status.StopSignal.String()
	}
	out["stopSignals"] = signals
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("encode: %v", err)
	}
}
