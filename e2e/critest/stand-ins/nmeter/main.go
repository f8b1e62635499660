// A stand-in for busybox's nmeter applet, which Debian's busybox lacks: the node suite's
// lifecycle specs read the time of day with milliseconds from `nmeter -d0 '%3t'`. Only the
// time specifiers (%t, and %Nt with N digits after the second) are known; it prints the
// format every -d milliseconds until its output is closed, as nmeter does.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	delay, format, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: nmeter [-d MSEC] FORMAT:", err)
		os.Exit(2)
	}
	for {
		line, err := expand(format, time.Now().UTC())
		if err != nil {
			fmt.Fprintln(os.Stderr, "nmeter:", err)
			os.Exit(1)
		}
		if _, err := fmt.Println(line); err != nil {
			os.Exit(0)
		}
		time.Sleep(time.Duration(delay) * time.Millisecond)
	}
}

// parseArgs reads nmeter's command line: -d takes its value joined (-d0) or apart (-d 0).
func parseArgs(args []string) (delay int, format string, err error) {
	delay = 1000
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-d" && i+1 < len(args):
			i++
			delay, err = strconv.Atoi(args[i])
		case strings.HasPrefix(arg, "-d"):
			delay, err = strconv.Atoi(arg[2:])
		case format == "":
			format = arg
		default:
			err = fmt.Errorf("unexpected argument %q", arg)
		}
		if err != nil {
			return 0, "", err
		}
	}
	if format == "" {
		err = fmt.Errorf("no format")
	}
	return delay, format, err
}

// expand replaces each time specifier in format with now.
func expand(format string, now time.Time) (string, error) {
	var out strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			out.WriteByte(format[i])
			continue
		}
		i++
		digits := 0
		if i < len(format) && format[i] >= '1' && format[i] <= '6' {
			digits = int(format[i] - '0')
			i++
		}
		if i >= len(format) || format[i] != 't' {
			return "", fmt.Errorf("unsupported specifier in %q", format)
		}
		layout := "15:04:05"
		if digits > 0 {
			layout += "." + strings.Repeat("0", digits)
		}
		out.WriteString(now.Format(layout))
	}
	return out.String(), nil
}
