package mysql

import (
	"bufio"
	"context"
	"net"
	"time"
)

// readBufferSize is how much of a connection's incoming data one read
// system call may fetch. The driver reads through a 4 KiB buffer, so an
// export streaming hundreds of megabytes of rows made one system call per
// 4 KiB: about 1 CPU-second per 800 MB of rows on the benchmark machine.
const readBufferSize = 256 << 10

// bufferedDial wraps dial (nil: a plain TCP dial with keep-alives, as the
// driver's own) so that the connection's reads go through a large buffer.
func bufferedDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(
	ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if dial != nil {
			c, err = dial(ctx, network, addr)
		} else {
			d := net.Dialer{KeepAlive: 15 * time.Second}
			c, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}, nil
	}
}

// bufferedConn is a net.Conn whose reads are buffered; writes, deadlines
// and Close go to the connection itself. It deliberately does not expose
// the socket (syscall.Conn): the driver's idle-connection liveness check
// reads the socket directly and would miss bytes held in the buffer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
