// cristatus asks a CRI runtime (containerd) for its Status, as the kubelet does
// before it starts: crictl is not packaged for Debian bookworm.
//
// Usage: cristatus -endpoint unix:///path/containerd.sock [-timeout 2s]
//
// It prints one JSON object {"ready": bool, "conditions": [...], "error": "..."}
// and exits 0 when RuntimeReady and NetworkReady are both true, 1 when the
// runtime answered but is not ready, 2 when the call itself failed (socket
// missing, "server is not initialized yet", ...).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type condition struct {
	Type    string `json:"type"`
	Status  bool   `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

type result struct {
	Ready      bool        `json:"ready"`
	Conditions []condition `json:"conditions"`
	Error      string      `json:"error,omitempty"`
}

func report(r result, code int) {
	_ = json.NewEncoder(os.Stdout).Encode(r)
	os.Exit(code)
}

func main() {
	endpoint := flag.String("endpoint", "", "CRI endpoint, unix:///path/to/socket")
	timeout := flag.Duration("timeout", 2*time.Second, "deadline for the call")
	flag.Parse()
	r := result{Conditions: []condition{}}
	if !strings.HasPrefix(*endpoint, "unix://") {
		r.Error = "-endpoint must be unix:///path/to/socket"
		report(r, 2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+strings.TrimPrefix(*endpoint, "unix://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		r.Error = err.Error()
		report(r, 2)
	}
	defer conn.Close()
	resp, err := runtimeapi.NewRuntimeServiceClient(conn).Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		r.Error = err.Error()
		report(r, 2)
	}
	seen := map[string]bool{}
	for _, c := range resp.GetStatus().GetConditions() {
		r.Conditions = append(r.Conditions, condition{c.Type, c.Status, c.Reason, c.Message})
		seen[c.Type] = c.Status
	}
	r.Ready = seen[runtimeapi.RuntimeReady] && seen[runtimeapi.NetworkReady]
	if r.Ready {
		report(r, 0)
	}
	report(r, 1)
}
