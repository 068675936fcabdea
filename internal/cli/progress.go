package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// jobProgress is the rich status bacport serves beside the ARM result.
type jobProgress struct {
	Phase      string  `json:"phase"`
	Table      string  `json:"currentTable"`
	Percent    float64 `json:"percent"`
	Rows       int64   `json:"rows"`
	Bytes      int64   `json:"bytes"`
	Throughput float64 `json:"bytesPerSecond"`
	ETASeconds float64 `json:"etaSeconds"`
	Endpoints  []struct {
		ID       string `json:"id"`
		Resource string `json:"resourceId"`
		Status   string `json:"status"`
	} `json:"privateEndpointConnections"`
}

// fetchProgress reads the rich status of an operation. It returns nil when
// the server has none for it.
func fetchProgress(cmd *cobra.Command, c *apiClient, requestID string) (*jobProgress, error) {
	if requestID == "" {
		return nil, nil
	}
	var p jobProgress
	if _, _, err := c.do(ctxOf(cmd), "GET", progressPath(c, requestID), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// progressPath is where bacport serves an operation's rich status.
func progressPath(c *apiClient, requestID string) string {
	return "/bacport/operations/" + requestID
}

// progressView draws a job's progress: a redrawn bar on a terminal, plain
// lines when output is piped or logged.
type progressView struct {
	w        io.Writer
	tty      bool
	drawn    bool
	last     string
	lastTime time.Time
	advised  bool
}

func newProgressView(cmd *cobra.Command) *progressView {
	return &progressView{w: cmd.ErrOrStderr(), tty: isTerminal(cmd)}
}

func (v *progressView) update(r *operationResult, p *jobProgress) {
	line := describe(r, p)
	if p != nil && strings.EqualFold(p.Phase, "waiting for approval") && !v.advised {
		v.advise(p)
	}
	if v.tty {
		fmt.Fprintf(v.w, "\r\x1b[2K%s", line)
		v.drawn = true
		return
	}
	// Plain output: a line when something changes, at most every 2 s.
	if line != v.last && time.Since(v.lastTime) >= 2*time.Second || v.last == "" {
		fmt.Fprintln(v.w, line)
		v.last, v.lastTime = line, time.Now()
	}
}

// advise says, once, which endpoints wait for whose approval and the exact
// commands that approve them.
func (v *progressView) advise(p *jobProgress) {
	v.advised = true
	if v.drawn {
		fmt.Fprintln(v.w)
		v.drawn = false
	}
	fmt.Fprintln(v.w, "The job is on hold until the owners approve its private endpoints:")
	for _, e := range p.Endpoints {
		fmt.Fprintf(v.w, "  %s on %s (%s)\n", e.ID, e.Resource, e.Status)
	}
	fmt.Fprintln(v.w, "Approve them with:")
	for _, e := range p.Endpoints {
		if strings.EqualFold(e.Status, "Pending") {
			fmt.Fprintf(v.w, "  bacport private-link approve %s\n", e.ID)
		}
	}
}

func (v *progressView) done() {
	if v.tty && v.drawn {
		fmt.Fprintln(v.w)
		v.drawn = false
	}
}

// describe renders one progress line.
func describe(r *operationResult, p *jobProgress) string {
	status := r.Properties.Status
	if p == nil {
		return fmt.Sprintf("%s %s: %s", r.Properties.RequestType, r.Properties.DatabaseName, status)
	}
	const width = 24
	filled := int(p.Percent / 100 * width)
	filled = min(max(filled, 0), width)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
	parts := []string{bar, fmt.Sprintf("%5.1f%%", p.Percent), p.Phase}
	if p.Table != "" {
		parts = append(parts, p.Table)
	}
	if p.Rows > 0 || p.Bytes > 0 {
		parts = append(parts, fmt.Sprintf("%d rows", p.Rows), formatBytes(p.Bytes))
	}
	if p.Throughput > 0 {
		parts = append(parts, formatBytes(int64(p.Throughput))+"/s")
	}
	if p.ETASeconds > 0 {
		parts = append(parts, "ETA "+(time.Duration(p.ETASeconds)*time.Second).String())
	}
	return strings.Join(parts, " ")
}
