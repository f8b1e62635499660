// A SPDY/3.1 remote-command client for cricket's e2e tests, built on Debian's
// github.com/moby/spdystream (the library under kubelet's and crictl's streaming client):
// an independent peer for the server. Usage:
//
//	spdy-go-client [-stdin TEXT] [-tty] [-resize WxH] [-stderr] [-protocol V] URL
//	spdy-go-client -forward PORT -send TEXT [-connections N] URL
//
// Exec: it upgrades URL to SPDY/3.1, opens the streams the flags imply in crictl's order
// (error, stdin, stdout, stderr, resize), sends stdin and resize, and prints what came back:
// "stdout <hex>", "stderr <hex>", "error <text>", each on a line.
//
// Port-forward: N connections at once over one SPDY connection, each an error and a data
// stream with its own requestid; each sends TEXT, closes its side and prints
// "data <i> <hex>" and "error <i> <text>".
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/moby/spdystream"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	stdin := flag.String("stdin", "", "text to send on stdin, then close it")
	tty := flag.Bool("tty", false, "ask for a terminal")
	resize := flag.String("resize", "", "WxH to send on the resize stream")
	stderr := flag.Bool("stderr", false, "open a stderr stream")
	protocol := flag.String("protocol", "v4.channel.k8s.io", "remote-command protocol version")
	stdinFile := flag.String("stdin-file", "", "a file to send on stdin, then close it")
	digest := flag.Bool("digest", false, "print stdout as \"stdout-sha256 <hex> <length>\" instead")
	forward := flag.Int("forward", 0, "port-forward to this port")
	send := flag.String("send", "", "what each forwarded connection sends")
	connections := flag.Int("connections", 1, "forwarded connections at once")
	count := flag.Bool("count", false, "port-forward: print only how many bytes came back")
	flag.Parse()
	if *forward != 0 {
		*protocol = "portforward.k8s.io"
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil {
		fail("url: %v", err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		fail("dial: %v", err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: %s\r\n\r\n", u.Path, u.Host, *protocol)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		fail("upgrade: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		fail("upgrade: status %d", resp.StatusCode)
	}
	spdy, err := spdystream.NewConnection(conn, false)
	if err != nil {
		fail("spdy: %v", err)
	}
	go spdy.Serve(spdystream.NoOpStreamHandler)
	if *forward != 0 {
		portForward(spdy, *forward, *send, *connections, *count)
		return
	}
	open := func(kind string) *spdystream.Stream {
		s, err := spdy.CreateStream(http.Header{"Streamtype": {kind}}, nil, false)
		if err != nil {
			fail("stream %s: %v", kind, err)
		}
		if err := s.Wait(); err != nil {
			fail("stream %s reply: %v", kind, err)
		}
		return s
	}
	errStream := open("error")
	var in *spdystream.Stream
	if *stdin != "" || *stdinFile != "" {
		in = open("stdin")
	}
	out := open("stdout")
	var errOut *spdystream.Stream
	if *stderr {
		errOut = open("stderr")
	}
	if *tty && *resize != "" {
		var w, h int
		fmt.Sscanf(*resize, "%dx%d", &w, &h)
		rs := open("resize")
		fmt.Fprintf(rs, `{"Width":%d,"Height":%d}`, w, h)
		// Give the size time to reach the terminal before input makes the command look.
		time.Sleep(500 * time.Millisecond)
	}
	if in != nil {
		go func() {
			if *stdinFile != "" {
				f, err := os.Open(*stdinFile)
				if err != nil {
					fail("stdin file: %v", err)
				}
				io.Copy(in, f)
				f.Close()
			} else {
				io.WriteString(in, *stdin)
			}
			// A terminal's input stays open, as a user's does: closing it shuts the console.
			if !*tty {
				in.Close()
			}
		}()
	}
	var wg sync.WaitGroup
	results := map[string][]byte{}
	var mu sync.Mutex
	read := func(name string, s *spdystream.Stream) {
		defer wg.Done()
		data, _ := io.ReadAll(s)
		mu.Lock()
		results[name] = data
		mu.Unlock()
	}
	wg.Add(2)
	go read("stdout", out)
	go read("error", errStream)
	if errOut != nil {
		wg.Add(1)
		go read("stderr", errOut)
	}
	wg.Wait()
	for _, name := range []string{"stdout", "stderr"} {
		if data, ok := results[name]; ok {
			if *digest && name == "stdout" {
				sum := sha256.Sum256(data)
				fmt.Printf("stdout-sha256 %s %d\n", hex.EncodeToString(sum[:]), len(data))
				continue
			}
			fmt.Printf("%s %s\n", name, hex.EncodeToString(data))
		}
	}
	fmt.Printf("error %s\n", results["error"])
}

func portForward(spdy *spdystream.Connection, port int, send string, n int, count bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	lines := make([]string, 0, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			open := func(kind string) *spdystream.Stream {
				h := http.Header{"Streamtype": {kind}, "Port": {fmt.Sprint(port)}, "Requestid": {fmt.Sprint(i)}}
				s, err := spdy.CreateStream(h, nil, false)
				if err != nil {
					fail("stream %s: %v", kind, err)
				}
				if err := s.Wait(); err != nil {
					fail("stream %s reply: %v", kind, err)
				}
				return s
			}
			errStream := open("error")
			data := open("data")
			io.WriteString(data, send)
			data.Close()
			var got []byte
			if count {
				n, _ := io.Copy(io.Discard, data)
				got = []byte(fmt.Sprint(n))
			} else {
				got, _ = io.ReadAll(data)
			}
			problem, _ := io.ReadAll(errStream)
			shown := hex.EncodeToString(got)
			if count {
				shown = string(got)
			}
			mu.Lock()
			lines = append(lines, fmt.Sprintf("data %d %s", i, shown), fmt.Sprintf("error %d %s", i, problem))
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	for _, l := range lines {
		fmt.Println(l)
	}
}
