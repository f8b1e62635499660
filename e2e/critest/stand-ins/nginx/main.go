// A stand-in for the web servers of critest's images (nginx, httpd): it answers every HTTP
// request with a page, on the port of its -port flag. Installed as nginx, it does what the
// tests check of nginx: it names itself "nginx: master process" in its command line and
// writes its pid to /var/run/nginx.pid. Installed as httpd, it says so on stderr, which the
// tests find in the container's log. SIGTERM ends it at once.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// nginxTitle is what nginx's master process shows as its command line.
const nginxTitle = "nginx: master process nginx -g daemon off;"

func main() {
	name := filepath.Base(os.Args[0])
	if strings.HasPrefix(name, "nginx") && os.Args[0] != nginxTitle {
		exe, err := os.Executable()
		if err == nil {
			// argv[0] is what /proc/<pid>/cmdline starts with; the binary's name stays nginx.
			err = syscall.Exec(exe, append([]string{nginxTitle}, os.Args[1:]...), os.Environ())
		}
		fmt.Fprintf(os.Stderr, "nginx: re-exec: %v\n", err)
		os.Exit(1)
	}
	port := flag.Int("port", 80, "the port to serve")
	flag.Parse()

	if os.Args[0] == nginxTitle {
		name = "nginx"
		_ = os.MkdirAll("/var/run", 0o755)
		if err := os.WriteFile("/var/run/nginx.pid", []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "nginx: %v\n", err)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: serving on port %d\n", name, *port)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	page := fmt.Sprintf("<html><body><h1>Welcome to %s!</h1></body></html>\n", name)
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, page) })
	if err := http.ListenAndServe(fmt.Sprintf(":%d", *port), nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
