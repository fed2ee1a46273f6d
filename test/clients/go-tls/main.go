// A nats.go client over TLS, for test/clients/go-tls.test.ts: connects with a CA (and a client
// certificate when given), round-trips one message, and prints "ok" or the error.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	url := flag.String("url", "", "server URL")
	ca := flag.String("ca", "", "CA file")
	cert := flag.String("cert", "", "client certificate")
	key := flag.String("key", "", "client key")
	flag.Parse()
	opts := []nats.Option{nats.RootCAs(*ca), nats.NoReconnect(), nats.Timeout(3 * time.Second)}
	if *cert != "" {
		opts = append(opts, nats.ClientCert(*cert, *key))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("go.tls")
	if err == nil {
		err = nc.Publish("go.tls", []byte("hello"))
	}
	var m *nats.Msg
	if err == nil {
		m, err = sub.NextMsg(3 * time.Second)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	state, _ := nc.TLSConnectionState()
	fmt.Printf("ok %s tls=%x\n", string(m.Data), state.Version)
}
