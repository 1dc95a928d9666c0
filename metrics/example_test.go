package metrics_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/metrics"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

func ExampleNewCollector() {
	ctx := context.Background()
	stats := multiserver.NewStats()
	n, _ := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
		Stats:      stats,
	})
	reg := prometheus.NewRegistry() // serve it with promhttp.HandlerFor(reg, …)
	reg.MustRegister(metrics.NewCollector(stats))

	ln, _ := n.Listen(ctx, "mem:a~noauth")
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		c.Close()
	}()
	c, _ := n.Dial(ctx, "mem:a~noauth")
	c.Read(make([]byte, 1)) // until the server has closed its end
	c.Close()

	families, _ := reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if f.GetName() == "multiserver_accepted_total" || f.GetName() == "multiserver_dial_wins_total" {
				labels := ""
				for _, l := range m.GetLabel() {
					labels += l.GetName() + "=" + l.GetValue() + " "
				}
				fmt.Println(f.GetName(), labels, m.GetCounter().GetValue())
			}
		}
	}
	// Output:
	// multiserver_accepted_total path=direct stack=mem:a~noauth  1
	// multiserver_accepted_total path=relayed stack=mem:a~noauth  0
	// multiserver_dial_wins_total class=direct path=direct stack=mem~noauth  1
	// multiserver_dial_wins_total class=direct path=relayed stack=mem~noauth  0
}
