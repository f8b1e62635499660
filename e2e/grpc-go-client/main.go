// A real grpc-go client (Debian's grpc-go 1.33, built in GOPATH mode) for cricket's e2e tests.
//
// It dials cricket as kubelet and crictl of that generation did: the bare socket path as the
// target with a unix dialer, which makes grpc-go send the path as the HTTP/2 :authority, or
// with -unix the "unix://" target. Its HPACK encoder (Huffman strings, dynamic table) is
// grpc-go's own. Messages are raw protobuf bytes in hex, so no CRI Go stubs are needed.
//
// usage: grpc-go-client [-unix] SOCKET METHOD REQUEST_HEX CALLS
// prints the last reply in hex, or "error code=<Code> msg=<message>" and exits 3.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec passes already-encoded protobuf bytes through.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func main() {
	unixScheme := flag.Bool("unix", false, "dial the unix:// target instead of the bare path")
	flag.Parse()
	if flag.NArg() != 4 {
		fmt.Fprintln(os.Stderr, "usage: grpc-go-client [-unix] SOCKET METHOD REQUEST_HEX CALLS")
		os.Exit(2)
	}
	socket, method := flag.Arg(0), flag.Arg(1)
	request, err := hex.DecodeString(flag.Arg(2))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad REQUEST_HEX:", err)
		os.Exit(2)
	}
	calls, _ := strconv.Atoi(flag.Arg(3))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	options := []grpc.DialOption{grpc.WithInsecure(), grpc.WithBlock()}
	target := "unix://" + socket
	if !*unixScheme {
		target = socket
		options = append(options, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}))
	}
	conn, err := grpc.DialContext(ctx, target, options...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	defer conn.Close()

	var reply []byte
	for i := 0; i < calls; i++ {
		// Metadata that changes on every call churns grpc-go's HPACK dynamic table.
		md := metadata.Pairs("x-call", strconv.Itoa(i), "x-pad", strings.Repeat("p", 200+i))
		callCtx := metadata.NewOutgoingContext(ctx, md)
		if err := conn.Invoke(callCtx, method, &request, &reply, grpc.ForceCodec(rawCodec{})); err != nil {
			s := status.Convert(err)
			fmt.Printf("error code=%s msg=%s\n", s.Code(), s.Message())
			os.Exit(3)
		}
	}
	fmt.Println(hex.EncodeToString(reply))
}
