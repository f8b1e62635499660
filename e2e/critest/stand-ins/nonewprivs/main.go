// A stand-in for critest's nonewprivs image: installed setuid root, it prints the effective
// uid it runs with, which is root unless no_new_privs kept the setuid bit from taking effect.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("Effective uid: %d\n", os.Geteuid())
}
