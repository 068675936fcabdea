// Command follow polls an Azure-AsyncOperation URL of `bacport serve` until
// the operation ends, for bench/serve.sh. It keeps one HTTPS connection
// open: a curl and jq process pair per poll cost about 40 ms of CPU, which
// on a 2-core machine was taken from the job being measured (≈ 1.5 CPU-s
// over a 10 s job) and from no peer.
//
// Usage: follow -cert CERT -token-file FILE URL
//
// It prints the final status document and exits 0 when the operation
// succeeded, 1 when it failed or was cancelled, 2 on a usage or HTTP error.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	cert := flag.String("cert", "", "TLS certificate of bacport serve")
	tokenFile := flag.String("token-file", "", "file holding the bearer token")
	every := flag.Duration("every", 100*time.Millisecond, "poll interval")
	flag.Parse()
	if flag.NArg() != 1 || *cert == "" || *tokenFile == "" {
		fmt.Fprintln(os.Stderr, "usage: follow -cert CERT -token-file FILE URL")
		os.Exit(2)
	}
	code, err := follow(flag.Arg(0), *cert, *tokenFile, *every)
	if err != nil {
		fmt.Fprintln(os.Stderr, "follow:", err)
	}
	os.Exit(code)
}

func follow(url, certFile, tokenFile string, every time.Duration) (int, error) {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return 2, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return 2, fmt.Errorf("no certificate in %s", certFile)
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return 2, err
	}
	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return 2, err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := client.Do(req)
		if err != nil {
			return 2, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 2, err
		}
		if resp.StatusCode >= 400 {
			return 2, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
		}
		var doc struct{ Status string }
		if err := json.Unmarshal(body, &doc); err != nil {
			return 2, fmt.Errorf("status document: %w", err)
		}
		switch doc.Status {
		case "Succeeded", "Completed":
			fmt.Printf("%s\n", body)
			return 0, nil
		case "Failed", "Canceled", "Cancelled":
			fmt.Printf("job %s: %s\n", doc.Status, body)
			return 1, nil
		}
		time.Sleep(every)
	}
}
