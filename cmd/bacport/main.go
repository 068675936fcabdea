// Command bacport exports databases to BACPAC packages in blob storage and
// imports them back: as a service (bacport serve), as a client of that
// service, and as standalone package tools (bacport package …).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bacport/bacport/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
