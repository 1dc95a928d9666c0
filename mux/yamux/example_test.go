package yamux_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/f7d52a8e/multiserver/mux/yamux"
)

// Two sessions over one net.Pipe: the server echoes every stream in upper
// case, and the client runs three streams over the one connection.
func Example() {
	a, b := net.Pipe()
	server, _ := yamux.Server(b, nil)
	defer server.Close()
	go func() {
		for {
			c, err := server.Accept()
			if err != nil {
				return // net.ErrClosed once the session is closed
			}
			go func() {
				defer c.Close()
				msg, _ := io.ReadAll(c)
				io.WriteString(c, strings.ToUpper(string(msg)))
			}()
		}
	}()

	client, _ := yamux.Client(a, nil)
	defer client.Close()
	for _, word := range []string{"one", "two", "three"} {
		c, err := client.Open(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		io.WriteString(c, word)
		c.(*yamux.Stream).CloseWrite() // the server reads io.EOF
		reply, _ := io.ReadAll(c)
		c.Close()
		fmt.Println(string(reply))
	}
	// Output:
	// ONE
	// TWO
	// THREE
}
