// A CoreDNS build with only the plugins the local cluster's DNS needs (cluster names from
// the API server; no forwarding: the machine has no internet), so a cold build fetches and
// compiles a fraction of CoreDNS's dependencies. CoreDNS documents this way of choosing
// plugins at compile time: a main package of one's own that imports them.
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() { coremain.Run() }
